namespace TokenWire.Server.Stats;

/// <summary>One stored interval: its start (Unix ms) and its leaf entries.</summary>
public sealed record StatsBucket(long Start, IReadOnlyDictionary<string, long> Leaves);

/// <summary>
/// Where each app's stats are kept, per interval of every <see cref="StatsUnit"/>. Each write is one node's counts for
/// one minute; the store adds it to that minute and to the hour, day and month holding it (sums add, peaks
/// (<see cref="StatsEntries.IsPeak"/>) keep the maximum), so writes from several nodes sum to the cluster's counts and a
/// read of any unit is one range scan.
/// </summary>
public interface IStatsStore
{
    /// <summary>Adds <paramref name="leaves"/> to the minute starting at <paramref name="minuteStart"/> and to the intervals holding it.</summary>
    ValueTask AddAsync(string appId, long minuteStart, IReadOnlyDictionary<string, long> leaves, CancellationToken cancellationToken = default);

    /// <summary>
    /// Up to <paramref name="limit"/> of the app's intervals of <paramref name="unit"/> that start from
    /// <paramref name="first"/> to <paramref name="last"/> (inclusive), oldest first when <paramref name="forwards"/>.
    /// </summary>
    ValueTask<IReadOnlyList<StatsBucket>> ReadAsync(string appId, StatsUnit unit, long first, long last, bool forwards, int limit, CancellationToken cancellationToken = default);
}
