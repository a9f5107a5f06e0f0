namespace TokenWire.Server.Stats;

/// <summary>
/// One app's counts on this node since the last flush. Hot-path cost is one uncontended <see cref="Interlocked.Add(ref long, long)"/>
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

    /// <summary>Counters per core (a stripe each, padded to whole cache lines) so that cores counting the same app at once
    /// do not contend for one cache line; <see cref="Take"/> adds the stripes up.</summary>
    private static readonly int Stripes = Math.Min(Environment.ProcessorCount, 16);

    private static readonly int Stride = ((Names.Length + 7) / 8 * 8) + 8;

    private readonly long[] _values = new long[Stripes * Stride];

    public void Add(StatsCounter counter, long value) => Interlocked.Add(ref _values[Slot(counter)], value);

    /// <summary>A count and its bytes (<paramref name="messages"/> messages of <paramref name="bytes"/> in all).</summary>
    public void Add(StatsCounter count, int messages, StatsCounter data, long bytes)
    {
        if (messages > 0)
        {
            var stripe = Stripe();
            Interlocked.Add(ref _values[stripe + (int)count], messages);
            Interlocked.Add(ref _values[stripe + (int)data], bytes);
        }
    }

    /// <summary>Takes the counts since the last call (nonzero ones only), leaving zero.</summary>
    public Dictionary<string, long> Take()
    {
        var taken = new Dictionary<string, long>(StringComparer.Ordinal);
        for (var i = 0; i < Names.Length; i++)
        {
            var sum = 0L;
            for (var stripe = 0; stripe < Stripes; stripe++)
            {
                ref var cell = ref _values[(stripe * Stride) + i];
                if (Volatile.Read(ref cell) != 0)
                {
                    sum += Interlocked.Exchange(ref cell, 0);
                }
            }

            if (sum != 0)
            {
                taken[Names[i]] = sum;
            }
        }

        return taken;
    }

    private static int Stripe() => Thread.GetCurrentProcessorId() % Stripes * Stride;

    private static int Slot(StatsCounter counter) => Stripe() + (int)counter;
}
