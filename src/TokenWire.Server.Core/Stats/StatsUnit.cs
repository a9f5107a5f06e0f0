using System.Globalization;

namespace TokenWire.Server.Stats;

/// <summary>The granularity of a stats interval (Ably's <c>unit</c>): counts are kept per minute and rolled up.</summary>
public enum StatsUnit
{
    Minute,
    Hour,
    Day,
    Month,
}

/// <summary>Stats intervals: their start, the next one, and Ably's interval ids (<c>2025-02-03:15:04</c>, <c>2025-02-03:15</c>, <c>2025-02-03</c>, <c>2025-02</c>).</summary>
public static class StatsIntervals
{
    public static readonly StatsUnit[] All = [StatsUnit.Minute, StatsUnit.Hour, StatsUnit.Day, StatsUnit.Month];

    public static string Name(StatsUnit unit) => unit switch
    {
        StatsUnit.Minute => "minute",
        StatsUnit.Hour => "hour",
        StatsUnit.Day => "day",
        _ => "month",
    };

    public static bool TryParseUnit(string text, out StatsUnit unit)
    {
        foreach (var candidate in All)
        {
            if (Name(candidate) == text)
            {
                unit = candidate;
                return true;
            }
        }

        unit = default;
        return false;
    }

    /// <summary>The start (Unix ms, UTC) of the <paramref name="unit"/> interval holding <paramref name="ms"/>.</summary>
    public static long Floor(long ms, StatsUnit unit)
    {
        var t = DateTimeOffset.FromUnixTimeMilliseconds(ms);
        var start = unit switch
        {
            StatsUnit.Minute => new DateTimeOffset(t.Year, t.Month, t.Day, t.Hour, t.Minute, 0, TimeSpan.Zero),
            StatsUnit.Hour => new DateTimeOffset(t.Year, t.Month, t.Day, t.Hour, 0, 0, TimeSpan.Zero),
            StatsUnit.Day => new DateTimeOffset(t.Year, t.Month, t.Day, 0, 0, 0, TimeSpan.Zero),
            _ => new DateTimeOffset(t.Year, t.Month, 1, 0, 0, 0, TimeSpan.Zero),
        };
        return start.ToUnixTimeMilliseconds();
    }

    /// <summary>The start of the interval after the one starting at <paramref name="start"/>.</summary>
    public static long Next(long start, StatsUnit unit)
    {
        var t = DateTimeOffset.FromUnixTimeMilliseconds(start);
        return (unit switch
        {
            StatsUnit.Minute => t.AddMinutes(1),
            StatsUnit.Hour => t.AddHours(1),
            StatsUnit.Day => t.AddDays(1),
            _ => t.AddMonths(1),
        }).ToUnixTimeMilliseconds();
    }

    public static string IntervalId(long start, StatsUnit unit) =>
        DateTimeOffset.FromUnixTimeMilliseconds(start).ToString(Format(unit), CultureInfo.InvariantCulture);

    /// <summary>An interval id of any unit (its unit is told by its length), as Ably accepts for <c>start</c>/<c>end</c>.</summary>
    public static bool TryParseIntervalId(string text, out long start, out StatsUnit unit)
    {
        foreach (var candidate in All)
        {
            if (DateTimeOffset.TryParseExact(text, Format(candidate), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var parsed))
            {
                start = parsed.ToUnixTimeMilliseconds();
                unit = candidate;
                return true;
            }
        }

        start = 0;
        unit = default;
        return false;
    }

    private static string Format(StatsUnit unit) => unit switch
    {
        StatsUnit.Minute => "yyyy'-'MM'-'dd':'HH':'mm",
        StatsUnit.Hour => "yyyy'-'MM'-'dd':'HH",
        StatsUnit.Day => "yyyy'-'MM'-'dd",
        _ => "yyyy'-'MM",
    };
}
