using System.Diagnostics.Metrics;

namespace TokenWire.Server.Connections;

/// <summary>
/// Meter <c>TokenWire.Connections</c>: live connections and what their outbound queues hold (both read from
/// <see cref="LiveConnections"/> when collected, so they cost nothing between collections), resume outcomes and
/// slow-consumer disconnects.
/// </summary>
public sealed class ConnectionMetrics
{
    public const string MeterName = "TokenWire.Connections";

    private static readonly KeyValuePair<string, object?> Resumed = new("tokenwire.resume.outcome", "resumed");
    private static readonly KeyValuePair<string, object?> NewConnection = new("tokenwire.resume.outcome", "new_connection");
    private static readonly KeyValuePair<string, object?> Failed = new("tokenwire.resume.outcome", "failed");

    private readonly Counter<long> _resumes;
    private readonly Counter<long> _slowConsumers;

    public ConnectionMetrics(IMeterFactory meterFactory, LiveConnections live)
    {
        ArgumentNullException.ThrowIfNull(meterFactory);
        ArgumentNullException.ThrowIfNull(live);
        var meter = meterFactory.Create(MeterName);
        meter.CreateObservableUpDownCounter(
            "tokenwire.connections", () => (long)live.Count, "{connection}",
            "Realtime connections with a transport on this node (a connection waiting to be resumed does not count)");
        meter.CreateObservableUpDownCounter(
            "tokenwire.outbound.queue.bytes", live.QueuedBytes, "By",
            "Bytes queued for writing to this node's sockets, over all connections (each bounded by Limits:OutboundQueueBytes)");
        _resumes = meter.CreateCounter<long>(
            "tokenwire.resumes", "{resume}",
            "Connection attempts with a resume or recover key; by tokenwire.resume.outcome: resumed, new_connection (the key was unknown, expired or superseded), failed (the connection store was unavailable)");
        _slowConsumers = meter.CreateCounter<long>(
            "tokenwire.slow_consumer.disconnects", "{disconnect}",
            "Transports ended because their outbound queue passed Limits:OutboundQueueBytes (the client resumes and is replayed the gap)");
    }

    /// <summary>A connection attempt was resumed or given a new connection; counted only if it carried a key.</summary>
    public void Resume(string? resumeKey, bool resumed)
    {
        if (resumeKey is not null)
        {
            _resumes.Add(1, resumed ? Resumed : NewConnection);
        }
    }

    /// <summary>A connection attempt was refused because the connection store was unavailable; counted only if it carried a key.</summary>
    public void ResumeFailed(string? resumeKey)
    {
        if (resumeKey is not null)
        {
            _resumes.Add(1, Failed);
        }
    }

    public void SlowConsumerDisconnected() => _slowConsumers.Add(1);
}
