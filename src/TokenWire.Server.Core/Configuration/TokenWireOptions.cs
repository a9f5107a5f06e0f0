namespace TokenWire.Server.Configuration;

/// <summary>The <c>TokenWire</c> configuration section (appsettings.json, <c>TokenWire__*</c> variables, command line).</summary>
public sealed class TokenWireOptions
{
    public const string SectionName = "TokenWire";

    /// <summary>Identifies this node in <c>connectionDetails.serverId</c> and logs.</summary>
    public string ServerId { get; set; } = $"tokenwire-{Environment.MachineName.ToLowerInvariant()}";

    public List<AppOptions> Apps { get; set; } = [];

    public LimitOptions Limits { get; set; } = new();

    public ConnectionOptions Connection { get; set; } = new();

    public HistoryOptions History { get; set; } = new();

    public PresenceOptions Presence { get; set; } = new();

    /// <summary>
    /// How long a publish, append or presence change waits for an unreachable (or still loading) engine store —
    /// Redis — to come back before giving up. Within it an outage is only a delay: operations are retried in each
    /// publisher's order and stored exactly once. Past it the realtime connection is sent DISCONNECTED (50003), so
    /// the SDK resumes and retransmits what is unacknowledged (deduplicated by id); REST answers 50003. 5 s covers a
    /// Redis restart with AOF loading and a failover; longer holds more operations in memory during an outage.
    /// </summary>
    public TimeSpan EngineOutageWait { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// How long a stopping node gives its realtime clients to leave: each is sent DISCONNECTED (80003, so the SDK
    /// reconnects at once and resumes, on another node behind a balancer) and the closing handshake; a connection still
    /// open after this is aborted. The host's <c>ShutdownTimeout</c> (30 s by default) bounds the whole stop as well.
    /// </summary>
    public TimeSpan ShutdownDrainTimeout { get; set; } = TimeSpan.FromSeconds(10);

    public MemoryOptions Memory { get; set; } = new();

    public StatsOptions Stats { get; set; } = new();

    public AnnotationOptions Annotations { get; set; } = new();

    public PushOptions Push { get; set; } = new();
}
