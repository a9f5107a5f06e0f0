namespace TokenWire.Server.Hosting;

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
}

public sealed class AppOptions
{
    public string Id { get; set; } = string.Empty;

    public List<KeyOptions> Keys { get; set; } = [];

    /// <summary>Channel rules by namespace (the part of a channel name before the first <c>:</c>).</summary>
    public List<NamespaceOptions> Namespaces { get; set; } = [];
}

public sealed class KeyOptions
{
    /// <summary>The key id; the full key name is <c>appId.keyId</c>.</summary>
    public string Id { get; set; } = string.Empty;

    public string Secret { get; set; } = string.Empty;

    /// <summary>Ably capability JSON, e.g. <c>{"*":["*"]}</c>.</summary>
    public string Capability { get; set; } = """{"*":["*"]}""";
}

public sealed class NamespaceOptions
{
    public string Name { get; set; } = string.Empty;

    /// <summary>Persisted namespaces keep history for <see cref="HistoryOptions.PersistedRetention"/>.</summary>
    public bool Persisted { get; set; }
}

public sealed class LimitOptions
{
    /// <summary>Ably's default; the SDK enforces the value we announce in connectionDetails.</summary>
    public int MaxMessageSize { get; set; } = 65536;

    /// <summary>Largest inbound WebSocket message; a publish batch of max-size messages fits eight times over.</summary>
    public int MaxFrameSize { get; set; } = 524288;

    /// <summary>Announced in connectionDetails (messages/s); informative until rate limiting lands.</summary>
    public int MaxInboundRate { get; set; } = 250;

    public int MaxOutboundRate { get; set; } = 100;

    /// <summary>
    /// Frames queued for one connection before it is treated as a slow consumer and disconnected (it then resumes
    /// and is replayed from its channel serials). 8192 frames is several seconds of a fast token stream.
    /// </summary>
    public int OutboundQueueFrames { get; set; } = 8192;

    public int HistoryMaxLimit { get; set; } = 1000;
}

public sealed class ConnectionOptions
{
    /// <summary>How long a dropped connection's state is kept for resume (Ably default 120 s).</summary>
    public TimeSpan StateTtl { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>Announced maxIdleInterval; the server sends a heartbeat after half of it without other traffic.</summary>
    public TimeSpan MaxIdleInterval { get; set; } = TimeSpan.FromSeconds(15);
}

public sealed class HistoryOptions
{
    /// <summary>Ably keeps history of non-persisted channels for two minutes.</summary>
    public TimeSpan DefaultRetention { get; set; } = TimeSpan.FromMinutes(2);

    public TimeSpan PersistedRetention { get; set; } = TimeSpan.FromHours(24);

    /// <summary>Upper bound on messages kept per channel, whatever their age, to bound memory.</summary>
    public int MaxMessagesPerChannel { get; set; } = 100_000;

    /// <summary>Window in which a repeated message id is treated as a retry and not delivered again.</summary>
    public TimeSpan IdempotencyWindow { get; set; } = TimeSpan.FromMinutes(2);
}
