namespace TokenWire.Server.Configuration;

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
    /// Memory queued for one connection before it is treated as a slow consumer and disconnected (it then resumes and
    /// is replayed from its channel serials): control frames at their encoded size, messages at theirs plus the objects
    /// a queued message keeps alive (about twice a token's frame), so the bound is what a stuck connection can hold.
    /// Below the bound a lagging connection gets larger bundled frames instead. 4 MiB is several seconds of the fastest
    /// token stream; 0 = unbounded.
    /// </summary>
    public long OutboundQueueBytes { get; set; } = 4 * 1024 * 1024;

    public int HistoryMaxLimit { get; set; } = 1000;

    /// <summary>
    /// Presence members per channel; one more ENTER is refused with 91003. Bounds the member set every attach sends
    /// in its SYNC. An app may set its own (<see cref="AppOptions.MaxPresenceMembers"/>). 0 = unlimited.
    /// </summary>
    public int MaxPresenceMembers { get; set; } = 20_000;
}
