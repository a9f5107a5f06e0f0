namespace TokenWire.Server.Configuration;

public sealed class ConnectionOptions
{
    /// <summary>How long a dropped connection's state is kept for resume (Ably default 120 s).</summary>
    public TimeSpan StateTtl { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>Announced maxIdleInterval; the server sends a heartbeat after half of it without other traffic.</summary>
    public TimeSpan MaxIdleInterval { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>
    /// Serve plain realtime WebSocket upgrades below Kestrel's HTTP stack (Hosting/WebSocketFastPath): about 8 KB less
    /// per idle connection. Off: every request goes through ASP.NET Core.
    /// </summary>
    public bool WebSocketFastPath { get; set; } = true;
}
