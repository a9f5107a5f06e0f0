using System.Diagnostics;

namespace TokenWire.LoadTest;

/// <summary>
/// The fixed publish timetable. Each of <see cref="Streams"/> streams publishes at <see cref="Rate"/> msg/s; the
/// streams are evenly staggered, so publish slot <c>g</c> (over all streams) is stream <c>g mod Streams</c>'s message
/// <c>g / Streams</c> and is due at <c>Start + g / (Rate × Streams)</c>. A stream's message number is its publisher's
/// msgSerial (or the raw payload's seq). Latency is measured from this due time, never from when the send actually
/// happened, so a stalled publisher shows up as latency instead of silently lowering the load (coordinated omission).
/// Messages due in the first <c>warmup</c> seconds are checked for order but not measured.
/// </summary>
public sealed class PublishSchedule
{
    private readonly double _ticksPerSlot;

    public PublishSchedule(double rate, int streams, Timing timing)
    {
        Rate = rate;
        Streams = streams;
        _ticksPerSlot = Stopwatch.Frequency / (rate * streams);
        FirstMeasured = (long)Math.Round(timing.Warmup.TotalSeconds * rate);
        PerStream = FirstMeasured + Math.Max(1, (long)Math.Round(timing.Duration.TotalSeconds * rate));
    }

    /// <summary>Messages per second per stream.</summary>
    public double Rate { get; }

    public int Streams { get; }

    /// <summary>Stopwatch timestamp at which slot 0 (stream 0's message 0) is due; set just before publishing starts.</summary>
    public long Start { get; private set; }

    /// <summary>UTC time matching <see cref="Start"/>, for the <c>sentAt</c> the payload carries.</summary>
    public DateTime StartUtc { get; private set; }

    /// <summary>Message number (per stream) of the first measured message.</summary>
    public long FirstMeasured { get; }

    /// <summary>Messages each stream publishes (warm-up and measured).</summary>
    public long PerStream { get; }

    /// <summary>Messages published over all streams.</summary>
    public long Total => PerStream * Streams;

    public long WindowStart => DueAt(0, FirstMeasured);

    public long WindowEnd => DueAt(0, PerStream);

    public void StartAt(long timestamp)
    {
        Start = timestamp;
        StartUtc = DateTime.UtcNow + Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), timestamp);
    }

    public long DueAt(int stream, long serial) => Start + (long)(Slot(stream, serial) * _ticksPerSlot);

    public DateTime DueAtUtc(int stream, long serial) => StartUtc.AddTicks((long)(Slot(stream, serial) * TimeSpan.TicksPerSecond / (Rate * Streams)));

    public bool IsMeasured(long serial) => serial >= FirstMeasured && serial < PerStream;

    private double Slot(int stream, long serial) => ((double)serial * Streams) + stream;
}
