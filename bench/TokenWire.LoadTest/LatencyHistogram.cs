using System.Diagnostics;
using System.Numerics;

namespace TokenWire.LoadTest;

/// <summary>
/// A log-linear histogram of microsecond values in the spirit of HdrHistogram: each power-of-two range is split into
/// 32 linear sub-buckets, so a recorded value is known to within about 3%. Values below 32 µs are exact.
/// Thread-safe: many receive loops record into one instance.
/// </summary>
public sealed class LatencyHistogram
{
    private const int SubBucketBits = 5;
    private const int SubBuckets = 1 << SubBucketBits;
    private const int Ranges = 64 - SubBucketBits;

    private readonly long[] _counts = new long[(Ranges + 1) * SubBuckets];
    private long _count;
    private long _max;

    public long Count => Volatile.Read(ref _count);

    /// <summary>The largest recorded value, exact.</summary>
    public long MaxMicros => Volatile.Read(ref _max);

    public static long ToMicros(long stopwatchTicks) => stopwatchTicks <= 0 ? 0 : stopwatchTicks * 1_000_000 / Stopwatch.Frequency;

    public void RecordTicks(long stopwatchTicks) => Record(ToMicros(stopwatchTicks));

    public void Record(long micros)
    {
        if (micros < 0)
        {
            micros = 0;
        }

        Interlocked.Increment(ref _counts[IndexOf(micros)]);
        Interlocked.Increment(ref _count);
        var max = Volatile.Read(ref _max);
        while (micros > max)
        {
            var seen = Interlocked.CompareExchange(ref _max, micros, max);
            if (seen == max)
            {
                break;
            }

            max = seen;
        }
    }

    /// <summary>
    /// The value at or below which <paramref name="percentile"/>% of the recordings fall, reported as the upper
    /// edge of its bucket (never above the exact maximum); 0 when empty.
    /// </summary>
    public long PercentileMicros(double percentile)
    {
        var total = Count;
        if (total == 0)
        {
            return 0;
        }

        var rank = Math.Max(1, (long)Math.Ceiling(percentile / 100.0 * total));
        long seen = 0;
        for (var i = 0; i < _counts.Length; i++)
        {
            seen += Volatile.Read(ref _counts[i]);
            if (seen >= rank)
            {
                return Math.Min(UpperEdge(i), MaxMicros);
            }
        }

        return MaxMicros;
    }

    private static int IndexOf(long value)
    {
        if (value < SubBuckets)
        {
            return (int)value;
        }

        // For a value whose top bit is b (b >= 5), keep the 5 bits below it: range b-4, sub-bucket from those bits.
        var top = 63 - BitOperations.LeadingZeroCount((ulong)value);
        var shift = top - SubBucketBits;
        var sub = (int)(value >> shift) - SubBuckets;
        return ((top - SubBucketBits + 1) * SubBuckets) + sub;
    }

    private static long UpperEdge(int index)
    {
        if (index < SubBuckets)
        {
            return index;
        }

        var range = index / SubBuckets;
        var sub = index % SubBuckets;
        var shift = range - 1;
        return ((long)(SubBuckets + sub + 1) << shift) - 1;
    }
}
