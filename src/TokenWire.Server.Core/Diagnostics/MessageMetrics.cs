using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using TokenWire.Protocol;

namespace TokenWire.Server.Diagnostics;

/// <summary>
/// Meter <c>TokenWire.Messages</c>: what the log accepts, what this node writes to its sockets and how late, history
/// reads and NACKs. One instance per node (created through <see cref="IMeterFactory"/>). The delivery side runs on
/// the hot path and is called once per frame written, never per message: a counter add without tags, and the clock
/// read only while someone listens to the lag histogram.
/// </summary>
public sealed class MessageMetrics
{
    public const string MeterName = "TokenWire.Messages";

    /// <summary>Milliseconds: loopback deliveries take well under one, a lagging subscriber seconds.</summary>
    private static readonly double[] LagBuckets = [0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000];

    private static readonly double[] HistoryBuckets = [0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000];

    private static readonly KeyValuePair<string, object?> KindMessage = new("tokenwire.message.kind", "message");
    private static readonly KeyValuePair<string, object?> KindUpdate = new("tokenwire.message.kind", "update");
    private static readonly KeyValuePair<string, object?> KindDelete = new("tokenwire.message.kind", "delete");
    private static readonly KeyValuePair<string, object?> KindAppend = new("tokenwire.message.kind", "append");
    private static readonly KeyValuePair<string, object?> KindEphemeral = new("tokenwire.message.kind", "ephemeral");
    private static readonly KeyValuePair<string, object?> HistoryMessages = new("tokenwire.history.kind", "messages");
    private static readonly KeyValuePair<string, object?> HistoryPresence = new("tokenwire.history.kind", "presence");

    /// <summary>One boxed tag per error code, built on its first NACK (a runaway publisher can be NACKed 42911 often).</summary>
    private readonly ConcurrentDictionary<int, KeyValuePair<string, object?>> _nackTags = new();
    private readonly Counter<long> _published;
    private readonly Counter<long> _delivered;
    private readonly Histogram<double> _lag;
    private readonly Histogram<double> _history;
    private readonly Counter<long> _nacks;
    private readonly TimeProvider _time;

    public MessageMetrics(IMeterFactory meterFactory, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(meterFactory);
        _time = time;
        var meter = meterFactory.Create(MeterName);
        _published = meter.CreateCounter<long>(
            "tokenwire.messages.published", "{message}",
            "Messages stored in the log by a publish, update, delete or append on this node (a deduplicated retransmit is not counted), and ephemeral messages sent; by tokenwire.message.kind");
        _delivered = meter.CreateCounter<long>(
            "tokenwire.messages.delivered", "{message}",
            "Messages written to subscribers' sockets on this node, live and replayed (a backlog folded into fewer messages counts what was written)");
        _lag = meter.CreateHistogram<double>(
            "tokenwire.delivery.lag", "ms",
            "From the log's timestamp of the oldest live message in a frame to the end of that frame's socket write; one measurement per frame",
            tags: null, advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = LagBuckets });
        _history = meter.CreateHistogram<double>(
            "tokenwire.history.duration", "ms",
            "Reading one history page from the log (REST history and presence history); by tokenwire.history.kind",
            tags: null, advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = HistoryBuckets });
        _nacks = meter.CreateCounter<long>(
            "tokenwire.nacks", "{nack}",
            "Publishes and presence operations refused with a NACK; by tokenwire.error.code");
    }

    /// <summary>Stored messages of a publish (<see cref="MessageActions.Create"/>) or a mutation, by its action.</summary>
    public void Published(int action, int count)
    {
        if (count > 0)
        {
            _published.Add(count, action switch
            {
                MessageActions.Update => KindUpdate,
                MessageActions.Delete => KindDelete,
                MessageActions.Append => KindAppend,
                _ => KindMessage,
            });
        }
    }

    public void PublishedEphemeral(int count)
    {
        if (count > 0)
        {
            _published.Add(count, KindEphemeral);
        }
    }

    /// <summary>
    /// A frame of <paramref name="messages"/> messages was written. <paramref name="liveSince"/> is the log timestamp
    /// (Unix ms) of its oldest live message, 0 when it carried only replayed ones (a resume's gap is not lag).
    /// </summary>
    public void FrameWritten(int messages, long liveSince)
    {
        _delivered.Add(messages);
        if (liveSince > 0 && _lag.Enabled)
        {
            var now = (_time.GetUtcNow().UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) / (double)TimeSpan.TicksPerMillisecond;
            _lag.Record(Math.Max(0, now - liveSince));
        }
    }

    public void HistoryRead(TimeSpan elapsed, bool presence) =>
        _history.Record(elapsed.TotalMilliseconds, presence ? HistoryPresence : HistoryMessages);

    public void Nack(int code)
    {
        if (_nacks.Enabled)
        {
            _nacks.Add(1, _nackTags.GetOrAdd(code, static c => new KeyValuePair<string, object?>("tokenwire.error.code", c)));
        }
    }
}
