namespace TokenWire.Server.Stats;

/// <summary>
/// The embedded engine's stats: this process only. Minute intervals are kept for <see cref="MinuteRetention"/> (the
/// rest, a few hundred entries an app a year, for the life of the process).
/// </summary>
public sealed class InMemoryStatsStore(TimeProvider time) : IStatsStore
{
    /// <summary>How long minute intervals are kept after their last write.</summary>
    public static readonly TimeSpan MinuteRetention = TimeSpan.FromDays(2);

    private readonly Dictionary<(string AppId, StatsUnit Unit), SortedDictionary<long, Interval>> _intervals = [];

    public ValueTask AddAsync(string appId, long minuteStart, IReadOnlyDictionary<string, long> leaves, CancellationToken cancellationToken = default)
    {
        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        lock (_intervals)
        {
            foreach (var unit in StatsIntervals.All)
            {
                if (!_intervals.TryGetValue((appId, unit), out var intervals))
                {
                    _intervals[(appId, unit)] = intervals = [];
                }

                var start = StatsIntervals.Floor(minuteStart, unit);
                if (!intervals.TryGetValue(start, out var interval))
                {
                    intervals[start] = interval = new Interval();
                }

                interval.WrittenAt = now;
                foreach (var (name, value) in leaves)
                {
                    StatsEntries.Merge(interval.Leaves, name, value);
                }

                if (unit == StatsUnit.Minute)
                {
                    Expire(intervals, now);
                }
            }
        }

        return ValueTask.CompletedTask;
    }

    public ValueTask<IReadOnlyList<StatsBucket>> ReadAsync(string appId, StatsUnit unit, long first, long last, bool forwards, int limit, CancellationToken cancellationToken = default)
    {
        lock (_intervals)
        {
            if (!_intervals.TryGetValue((appId, unit), out var intervals))
            {
                return ValueTask.FromResult<IReadOnlyList<StatsBucket>>([]);
            }

            var inRange = intervals.Where(i => i.Key >= first && i.Key <= last);
            var page = (forwards ? inRange : inRange.Reverse())
                .Take(limit)
                .Select(i => new StatsBucket(i.Key, new Dictionary<string, long>(i.Value.Leaves, StringComparer.Ordinal)))
                .ToList();
            return ValueTask.FromResult<IReadOnlyList<StatsBucket>>(page);
        }
    }

    private static void Expire(SortedDictionary<long, Interval> minutes, long now)
    {
        var cutoff = now - (long)MinuteRetention.TotalMilliseconds;
        foreach (var start in minutes.Where(m => m.Value.WrittenAt < cutoff).Select(m => m.Key).ToList())
        {
            minutes.Remove(start);
        }
    }

    private sealed class Interval
    {
        public Dictionary<string, long> Leaves { get; } = new(StringComparer.Ordinal);

        public long WrittenAt { get; set; }
    }
}
