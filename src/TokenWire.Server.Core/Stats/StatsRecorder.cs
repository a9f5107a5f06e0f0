using System.Collections.Concurrent;

namespace TokenWire.Server.Stats;

/// <summary>This node's <see cref="StatsCounters"/> per app, which the flusher writes to the <see cref="IStatsStore"/>.</summary>
public sealed class StatsRecorder
{
    private readonly ConcurrentDictionary<string, StatsCounters> _byApp = new(StringComparer.Ordinal);

    /// <summary>The app's counters; a caller on a hot path keeps the instance rather than looking it up each time.</summary>
    public StatsCounters For(string appId) => _byApp.GetOrAdd(appId, static _ => new StatsCounters());

    /// <summary>Every app's counts since the last call.</summary>
    public IEnumerable<(string AppId, Dictionary<string, long> Counts)> Take()
    {
        foreach (var (appId, counters) in _byApp)
        {
            if (counters.Take() is { Count: > 0 } counts)
            {
                yield return (appId, counts);
            }
        }
    }
}
