using System.Globalization;
using StackExchange.Redis;
using TokenWire.Server.Stats;

namespace TokenWire.Redis;

/// <summary>
/// App stats in Redis: each interval a hash of leaf entries (<c>stats:{app}:minute:&lt;start&gt;</c>), each unit an
/// index of starts (a sorted set). Every node adds its minute's counts with one script (<c>stats_add.lua</c>) to the
/// minute, hour, day and month holding it: counts are HINCRBY'd, so the nodes' counts sum; peaks keep the maximum of
/// what the nodes wrote. Intervals expire <see cref="Retention"/> after their last write (an index entry whose hash
/// has expired is dropped when read).
/// </summary>
public sealed class RedisStatsStore(IConnectionMultiplexer redis, RedisKeys keys) : IStatsStore
{
    /// <summary>How long each unit's intervals are kept after their last write.</summary>
    public static TimeSpan Retention(StatsUnit unit) => unit switch
    {
        StatsUnit.Minute => TimeSpan.FromDays(2),
        StatsUnit.Hour => TimeSpan.FromDays(60),
        StatsUnit.Day => TimeSpan.FromDays(400),
        _ => TimeSpan.FromDays(5 * 366),
    };

    public async ValueTask AddAsync(string appId, long minuteStart, IReadOnlyDictionary<string, long> leaves, CancellationToken cancellationToken = default)
    {
        if (leaves.Count == 0)
        {
            return;
        }

        var units = StatsIntervals.All;
        var redisKeys = new RedisKey[8];
        var args = new List<RedisValue>(8 + (leaves.Count * 2));
        for (var u = 0; u < units.Length; u++)
        {
            var start = StatsIntervals.Floor(minuteStart, units[u]);
            redisKeys[u] = keys.StatsInterval(appId, StatsIntervals.Name(units[u]), start);
            redisKeys[4 + u] = keys.StatsIndex(appId, StatsIntervals.Name(units[u]));
            args.Add(start);
        }

        foreach (var unit in units)
        {
            args.Add((long)Retention(unit).TotalSeconds);
        }

        foreach (var (name, value) in leaves)
        {
            args.Add(name);
            args.Add(value);
        }

        try
        {
            await redis.GetDatabase().ScriptEvaluateAsync(RedisScripts.StatsAdd, redisKeys, [.. args]).WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (RedisFailures.IsUnavailable(ex))
        {
            throw RedisFailures.Unavailable("stats store", ex);
        }
    }

    public async ValueTask<IReadOnlyList<StatsBucket>> ReadAsync(string appId, StatsUnit unit, long first, long last, bool forwards, int limit, CancellationToken cancellationToken = default)
    {
        var name = StatsIntervals.Name(unit);
        var db = redis.GetDatabase();
        try
        {
            var starts = await db.SortedSetRangeByScoreAsync(keys.StatsIndex(appId, name), first, last, Exclude.None, forwards ? Order.Ascending : Order.Descending, 0, limit)
                .WaitAsync(cancellationToken).ConfigureAwait(false);
            var batch = db.CreateBatch();
            var reads = starts.Select(s => (Start: (long)s, Hash: batch.HashGetAllAsync(keys.StatsInterval(appId, name, (long)s)))).ToList();
            batch.Execute();
            var buckets = new List<StatsBucket>(reads.Count);
            foreach (var (start, hash) in reads)
            {
                var entries = await hash.WaitAsync(cancellationToken).ConfigureAwait(false);
                if (entries.Length == 0)
                {
                    // Expired: forget it in the index too.
                    _ = db.SortedSetRemoveAsync(keys.StatsIndex(appId, name), start, CommandFlags.FireAndForget);
                    continue;
                }

                buckets.Add(new StatsBucket(start, entries.ToDictionary(e => (string)e.Name!, e => long.Parse((string)e.Value!, CultureInfo.InvariantCulture), StringComparer.Ordinal)));
            }

            return buckets;
        }
        catch (Exception ex) when (RedisFailures.IsUnavailable(ex))
        {
            throw RedisFailures.Unavailable("stats store", ex);
        }
    }
}
