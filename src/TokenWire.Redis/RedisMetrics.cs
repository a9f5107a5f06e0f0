using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace TokenWire.Redis;

/// <summary>
/// Meter <c>TokenWire.Redis</c>: the Lua script round trips of the message log and the presence store, by script
/// (<c>tokenwire.redis.script</c>: append, mutate, history…), with <c>error.type=unavailable</c> on the ones that
/// failed because Redis could not be reached. The count is the number of round trips; an append is one per publish
/// window of a connection, so this is also where a slow Redis shows before publishes do.
/// </summary>
public sealed class RedisMetrics
{
    public const string MeterName = "TokenWire.Redis";

    private static readonly double[] Buckets = [0.25, 0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 5000];
    private static readonly KeyValuePair<string, object?> Unavailable = new("error.type", "unavailable");

    /// <summary>Each script text (the instances in <see cref="RedisScripts"/>) to its pre-built tag, by reference.</summary>
    private static readonly Dictionary<string, KeyValuePair<string, object?>> ScriptTags = new(ReferenceEqualityComparer.Instance)
    {
        [RedisScripts.Append] = Tag("append"),
        [RedisScripts.Head] = Tag("head"),
        [RedisScripts.ReadAfter] = Tag("read_after"),
        [RedisScripts.ReadRecent] = Tag("read_recent"),
        [RedisScripts.History] = Tag("history"),
        [RedisScripts.Mutate] = Tag("mutate"),
        [RedisScripts.Message] = Tag("message"),
        [RedisScripts.MessageExists] = Tag("message_exists"),
        [RedisScripts.PresenceApply] = Tag("presence_apply"),
    };

    private static readonly KeyValuePair<string, object?> OtherScript = Tag("other");

    private readonly Histogram<double> _duration;

    public RedisMetrics(IMeterFactory meterFactory)
    {
        ArgumentNullException.ThrowIfNull(meterFactory);
        _duration = meterFactory.Create(MeterName).CreateHistogram<double>(
            "tokenwire.redis.script.duration", "ms",
            "One Lua script round trip to Redis (message log and presence), by tokenwire.redis.script; error.type=unavailable when Redis could not be reached",
            tags: null, advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = Buckets });
    }

    /// <summary>A round trip of <paramref name="script"/> that started at <paramref name="started"/> (<see cref="Stopwatch.GetTimestamp"/>).</summary>
    public void ScriptRan(string script, long started, bool unavailable = false)
    {
        if (!_duration.Enabled)
        {
            return;
        }

        var tag = ScriptTags.GetValueOrDefault(script, OtherScript);
        var elapsed = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        if (unavailable)
        {
            _duration.Record(elapsed, tag, Unavailable);
        }
        else
        {
            _duration.Record(elapsed, tag);
        }
    }

    private static KeyValuePair<string, object?> Tag(string name) => new("tokenwire.redis.script", name);
}
