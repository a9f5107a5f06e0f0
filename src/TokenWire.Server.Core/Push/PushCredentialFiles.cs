namespace TokenWire.Server.Push;

/// <summary>A credential given inline or as a file path (inline wins).</summary>
internal static class PushCredentialFiles
{
    public static string Read(string? inline, string? path, string setting)
    {
        if (!string.IsNullOrEmpty(inline))
        {
            return inline;
        }

        try
        {
            return File.ReadAllText(path!);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            throw new PushConfigurationException($"{setting}: cannot read '{path}': {ex.Message}", ex);
        }
    }
}
