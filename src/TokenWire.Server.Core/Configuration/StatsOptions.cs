namespace TokenWire.Server.Configuration;

/// <summary>App statistics (<c>GET /stats</c>), <c>TokenWire:Stats</c>.</summary>
public sealed class StatsOptions
{
    /// <summary>
    /// How often each node writes what it counted to the engine (and samples its connection and channel peaks). Stats
    /// are that much behind; Ably's are up to six seconds behind too. Each flush costs one engine write an active app.
    /// </summary>
    public TimeSpan FlushInterval { get; set; } = TimeSpan.FromSeconds(5);
}
