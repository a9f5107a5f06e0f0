namespace TokenWire.Testing;

/// <summary>A test server could not bind the free port it was given because something took it after it was picked.</summary>
public sealed class PortTakenException(string message) : InvalidOperationException(message)
{
    /// <summary>Whether a server's output says its listening port was in use (Kestrel and redis-server word it alike).</summary>
    public static bool Says(string output) => output.Contains("address already in use", StringComparison.OrdinalIgnoreCase);
}
