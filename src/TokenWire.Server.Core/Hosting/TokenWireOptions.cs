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

    public PresenceOptions Presence { get; set; } = new();
}

public sealed class AppOptions
{
    public string Id { get; set; } = string.Empty;

    public List<KeyOptions> Keys { get; set; } = [];

    /// <summary>Channel rules by namespace (the part of a channel name before the first <c>:</c>).</summary>
    public List<NamespaceOptions> Namespaces { get; set; } = [];

    /// <summary>This app's <c>maxMessageSize</c> (bytes), instead of <see cref="LimitOptions.MaxMessageSize"/>; at most
    /// <see cref="LimitOptions.MaxFrameSize"/>, since a message must fit in a frame.</summary>
    public int? MaxMessageSize { get; set; }

    /// <summary>This app's presence members per channel, instead of <see cref="LimitOptions.MaxPresenceMembers"/>.</summary>
    public int? MaxPresenceMembers { get; set; }
}

public sealed class KeyOptions
{
    /// <summary>The key id; the full key name is <c>appId.keyId</c>.</summary>
    public string Id { get; set; } = string.Empty;

    public string Secret { get; set; } = string.Empty;

    /// <summary>Ably capability JSON, e.g. <c>{"*":["*"]}</c>.</summary>
    public string Capability { get; set; } = """{"*":["*"]}""";

    /// <summary>
    /// Ably's <c>revocableTokens</c>: tokens issued by this key can be revoked with <c>POST /keys/{keyName}/revokeTokens</c>.
    /// Off by default, as in Ably, because every token check then also consults the revocation list.
    /// </summary>
    public bool RevocableTokens { get; set; }
}

public sealed class NamespaceOptions
{
    public string Name { get; set; } = string.Empty;

    /// <summary>Persisted namespaces keep history for <see cref="HistoryOptions.PersistedRetention"/>.</summary>
    public bool Persisted { get; set; }

    /// <summary>Messages may be updated, deleted and appended to (Ably's <c>mutableMessages</c>); otherwise 93002.
    /// Such channels keep history as persisted ones do, as on Ably.</summary>
    public bool MutableMessages { get; set; }
}

public sealed class LimitOptions
{
    /// <summary>Ably's default; the SDK enforces the value we announce in connectionDetails.</summary>
    public int MaxMessageSize { get; set; } = 65536;

    /// <summary>Largest inbound WebSocket message; a publish batch of max-size messages fits eight times over.</summary>
    public int MaxFrameSize { get; set; } = 524288;

    /// <summary>
    /// Messages per second one connection may publish (a token bucket refilled at this rate, see
    /// <see cref="InboundBurst"/>); excess publishes are NACKed with 42911 and the connection stays up. Announced as
    /// <c>maxInboundRate</c> in connectionDetails, so what the client is told is what is enforced. 0 = unlimited.
    /// 1000/s is far above one streamed LLM response (tens of tokens a second) and leaves room for an agent
    /// streaming dozens of responses over one connection, while a runaway publisher cannot monopolise a node.
    /// </summary>
    public int MaxInboundRate { get; set; } = 1000;

    /// <summary>
    /// Messages a connection may publish at once before the rate applies (the bucket's size). 10,000 lets a
    /// client fire a whole buffered backlog after a reconnect (or a test its 10,000 pipelined publishes) without a
    /// rejection; sustained publishing is still held to <see cref="MaxInboundRate"/>.
    /// </summary>
    public int InboundBurst { get; set; } = 10_000;

    /// <summary>
    /// Messages per second delivered to one connection (Ably's <c>maxOutboundRate</c>, announced in connectionDetails
    /// and enforced by pacing the connection's writer; a token bucket of one second's worth). A connection above it
    /// falls behind, its outbound queue fills, and it is disconnected as a slow consumer and resumes without loss; no
    /// other connection waits. 0 = unlimited. 100,000/s is above anything a token stream reaches (hundreds to a few
    /// thousand tokens a second) and above the 50k msg/s the load tests offer, so it only stops a runaway fan-in to
    /// one connection; Ably's own default (100/s) would throttle one fast streamed response.
    /// </summary>
    public int MaxOutboundRate { get; set; } = 100_000;

    /// <summary>Channels one connection may have attached at once; one more ATTACH fails that channel with 90010.</summary>
    public int MaxChannelsPerConnection { get; set; } = 1000;

    /// <summary>
    /// Concurrent connections per app; a further connection is refused (DISCONNECTED 40150, so the SDK retries
    /// later). 0 = unlimited: the nodes' own capacity (file descriptors, memory) is the bound. Cluster-wide with the
    /// Redis engine: each node publishes its count every second and checks against its own plus the others' last
    /// counts (no Redis round trip on connect), so simultaneous connects on several nodes may overshoot it for about
    /// a second; a node that dies stops counting within a few seconds.
    /// </summary>
    public int MaxConnectionsPerApp { get; set; }

    /// <summary>
    /// Bytes queued for one connection (messages at their encoded size) before it is treated as a slow consumer and
    /// disconnected with 80003 (it then resumes and is replayed from its channel serials). Below the bound a lagging
    /// connection gets larger bundled frames instead. 4 MiB is many seconds of the fastest token stream and bounds a
    /// stuck connection's memory; 0 = unbounded.
    /// </summary>
    public long OutboundQueueBytes { get; set; } = 4 * 1024 * 1024;

    public int HistoryMaxLimit { get; set; } = 1000;

    /// <summary>
    /// Presence members per channel; one more ENTER is refused with 91003. Bounds the member set every attach sends
    /// in its SYNC. An app may set its own (<see cref="AppOptions.MaxPresenceMembers"/>). 0 = unlimited.
    /// </summary>
    public int MaxPresenceMembers { get; set; } = 20_000;
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

public sealed class PresenceOptions
{
    /// <summary>
    /// How long the members of an abruptly disconnected connection stay present, waiting for it to resume (Ably: about
    /// 15 s). A clean close or a DETACH removes them at once.
    /// </summary>
    public TimeSpan LeaveDelay { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>Members per SYNC frame sent after an ATTACHED with HAS_PRESENCE.</summary>
    public int SyncPageSize { get; set; } = 100;
}
