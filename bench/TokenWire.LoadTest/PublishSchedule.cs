using System.Diagnostics;

namespace TokenWire.LoadTest;

/// <summary>
/// The fixed publish timetable: message <c>n</c> (its msgSerial) is due at <c>Start + n / rate</c>. Latency is measured
/// from this due time, never from when the send actually happened, so a stalled publisher shows up as latency instead
/// of silently lowering the load (coordinated omission). Messages due in the first <c>warmup</c> seconds are checked
/// for order but not measured.
/// </summary>
public sealed class PublishSchedule
{
    private readonly double _ticksPerMessage;

    public PublishSchedule(double rate, TimeSpan warmup, TimeSpan duration)
    {
        Rate = rate;
        _ticksPerMessage = Stopwatch.Frequency / rate;
        FirstMeasured = (long)Math.Round(warmup.TotalSeconds * rate);
        Total = FirstMeasured + (long)Math.Round(duration.TotalSeconds * rate);
    }

    public double Rate { get; }

    /// <summary>Stopwatch timestamp at which msgSerial 0 is due; set just before publishing starts.</summary>
    public long Start { get; private set; }

    /// <summary>UTC time matching <see cref="Start"/>, for the <c>sentAt</c> header other processes can read.</summary>
    public DateTime StartUtc { get; private set; }

    /// <summary>msgSerial of the first measured message.</summary>
    public long FirstMeasured { get; }

    /// <summary>Messages published in all (warm-up and measured).</summary>
    public long Total { get; }

    public long MeasuredCount => Total - FirstMeasured;

    public long WindowStart => DueAt(FirstMeasured);

    public long WindowEnd => DueAt(Total);

    public void StartAt(long timestamp)
    {
        Start = timestamp;
        StartUtc = DateTime.UtcNow + Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), timestamp);
    }

    public long DueAt(long msgSerial) => Start + (long)(msgSerial * _ticksPerMessage);

    public DateTime DueAtUtc(long msgSerial) => StartUtc.AddTicks((long)(msgSerial * TimeSpan.TicksPerSecond / Rate));

    public bool IsMeasured(long msgSerial) => msgSerial >= FirstMeasured && msgSerial < Total;
}
