namespace TokenWire.Server.Stats;

/// <summary>
/// One app's counts on this node since the last flush. Hot-path cost is one <see cref="Interlocked.Add(ref long, long)"/>
/// per counted event (a frame, a publish, a request), never per subscriber-message; the flusher takes the counts away.
/// </summary>
public sealed class StatsCounters
{
    /// <summary>The leaf entry each <see cref="StatsCounter"/> is reported as.</summary>
    public static readonly string[] Names =
    [
        "messages.inbound.realtime.messages.count",
        "messages.inbound.realtime.messages.data",
        "messages.inbound.realtime.presence.count",
        "messages.inbound.realtime.presence.data",
        "messages.inbound.rest.messages.count",
        "messages.inbound.rest.messages.data",
        "messages.outbound.realtime.messages.count",
        "messages.outbound.realtime.messages.data",
        "messages.outbound.realtime.presence.count",
        "messages.outbound.realtime.presence.data",
        "messages.outbound.rest.messages.count",
        "messages.outbound.rest.messages.data",
        "messages.outbound.rest.presence.count",
        "messages.outbound.rest.presence.data",
        "connections.all.opened",
        "apiRequests.other.succeeded",
        "apiRequests.other.failed",
        "apiRequests.other.refused",
        "apiRequests.tokenRequests.succeeded",
        "apiRequests.tokenRequests.failed",
        "apiRequests.tokenRequests.refused",
    ];

    private readonly long[] _values = new long[Names.Length];

    public void Add(StatsCounter counter, long value) => Interlocked.Add(ref _values[(int)counter], value);

    /// <summary>A count and its bytes (<paramref name="count"/> messages of <paramref name="bytes"/> in all).</summary>
    public void Add(StatsCounter count, int messages, StatsCounter data, long bytes)
    {
        if (messages > 0)
        {
            Interlocked.Add(ref _values[(int)count], messages);
            Interlocked.Add(ref _values[(int)data], bytes);
        }
    }

    /// <summary>Takes the counts since the last call (nonzero ones only), leaving zero.</summary>
    public Dictionary<string, long> Take()
    {
        var taken = new Dictionary<string, long>(StringComparer.Ordinal);
        for (var i = 0; i < _values.Length; i++)
        {
            if (Volatile.Read(ref _values[i]) != 0 && Interlocked.Exchange(ref _values[i], 0) is var value and not 0)
            {
                taken[Names[i]] = value;
            }
        }

        return taken;
    }
}
