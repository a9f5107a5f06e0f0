using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using TokenWire.Server.Auth;
using TokenWire.Server.Channels;
using TokenWire.Server.Configuration;
using TokenWire.Server.Diagnostics;
using TokenWire.Server.Presence;
using TokenWire.Server.Publishing;

using TokenWire.Server.Stats;

namespace TokenWire.Server.Connections;

/// <summary>The node-wide collaborators every transport uses, bundled so a transport has one dependency.</summary>
public sealed class RealtimeServices(
    ChannelPublisher publisher,
    MessageMutator mutator,
    AnnotationPublisher annotations,
    Authenticator authenticator,
    LocalChannels channels,
    IConnectionStore connections,
    LiveConnections live,
    HeartbeatWheel heartbeats,
    PresenceService presence,
    IOptions<TokenWireOptions> options,
    TimeProvider time,
    ILogger<RealtimeTransport> logger,
    ConnectionMetrics connectionMetrics,
    MessageMetrics messageMetrics,
    StatsRecorder stats)
{
    public ChannelPublisher Publisher { get; } = publisher;

    public MessageMutator Mutator { get; } = mutator;

    public AnnotationPublisher Annotations { get; } = annotations;

    public Authenticator Authenticator { get; } = authenticator;

    public LocalChannels Channels { get; } = channels;

    public IConnectionStore Connections { get; } = connections;

    /// <summary>Connections with a transport on this node, by app (connection limits, revocation).</summary>
    public LiveConnections Live { get; } = live;

    /// <summary>Sends <c>heartbeats=true</c> transports a HEARTBEAT when they are otherwise quiet.</summary>
    public HeartbeatWheel Heartbeats { get; } = heartbeats;

    public PresenceService Presence { get; } = presence;

    public TokenWireOptions Options { get; } = options.Value;

    public TimeProvider Time { get; } = time;

    public ILogger<RealtimeTransport> Logger { get; } = logger;

    public ConnectionMetrics ConnectionMetrics { get; } = connectionMetrics;

    /// <summary>Per-app counts for <c>GET /stats</c>.</summary>
    public StatsRecorder Stats { get; } = stats;

    /// <summary>Deliveries (per frame, from each connection's egress) and NACKs.</summary>
    public MessageMetrics MessageMetrics { get; } = messageMetrics;
}
