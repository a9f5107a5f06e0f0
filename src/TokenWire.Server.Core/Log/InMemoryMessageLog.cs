using System.Collections.Concurrent;
using TokenWire.Protocol;
using TokenWire.Protocol.Serials;

namespace TokenWire.Server.Log;

/// <summary>
/// The embedded engine's log: one <see cref="InMemoryChannelLog"/> per channel, each with its own lock, so appends
/// to different channels never contend. A sweeper trims expired history and forgets long-idle empty channels.
/// </summary>
public sealed class InMemoryMessageLog : IMessageLog, IDisposable
{
    /// <summary>Often enough that expired history does not linger, rare enough to cost nothing.</summary>
    private static readonly TimeSpan SweepInterval = TimeSpan.FromSeconds(10);

    private readonly ConcurrentDictionary<string, InMemoryChannelLog> _channels = new(StringComparer.Ordinal);
    private readonly TimeProvider _time;
    private readonly TimeSpan _forgetIdleAfter;
    private readonly ITimer _sweeper;

    /// <param name="forgetIdleAfter">How long an empty channel keeps its epoch, so recent serials stay resumable.</param>
    public InMemoryMessageLog(TimeProvider time, TimeSpan forgetIdleAfter)
    {
        _time = time;
        _forgetIdleAfter = forgetIdleAfter;
        _sweeper = time.CreateTimer(_ => Sweep(), null, SweepInterval, SweepInterval);
    }

    public ValueTask<AppendResult> AppendAsync(string channelKey, IReadOnlyList<Message> messages, ChannelRetention retention, CancellationToken cancellationToken = default) =>
        ValueTask.FromResult(GetOrCreate(channelKey).Append(messages, retention, _time.GetUtcNow()));

    public ValueTask<LogPosition> GetHeadAsync(string channelKey, CancellationToken cancellationToken = default) =>
        ValueTask.FromResult(GetOrCreate(channelKey).Head);

    public ValueTask<ReadResult> ReadAfterAsync(string channelKey, LogPosition after, int max, CancellationToken cancellationToken = default) =>
        ValueTask.FromResult(GetOrCreate(channelKey).ReadAfter(after, max));

    public ValueTask<IReadOnlyList<LogEntry>> ReadRecentAsync(string channelKey, int? count, long? sinceMs, LogPosition upTo, CancellationToken cancellationToken = default) =>
        ValueTask.FromResult(GetOrCreate(channelKey).ReadRecent(count, sinceMs, upTo));

    public ValueTask<AppendResult> AppendMutationAsync(string channelKey, MessageMutation mutation, ChannelRetention retention, CancellationToken cancellationToken = default) =>
        ValueTask.FromResult(GetOrCreate(channelKey).AppendMutation(mutation, retention, _time.GetUtcNow()));

    public ValueTask<MessageVersions?> ReadMessageAsync(string channelKey, LogPosition serial, CancellationToken cancellationToken = default) =>
        ValueTask.FromResult(_channels.TryGetValue(channelKey, out var log) ? log.ReadMessage(serial) : null);

    public ValueTask<HistoryPage> ReadHistoryAsync(string channelKey, HistoryQuery query, CancellationToken cancellationToken = default) =>
        ValueTask.FromResult(_channels.TryGetValue(channelKey, out var log)
            ? log.ReadHistory(query)
            : new HistoryPage([], null));

    public void Dispose() => _sweeper.Dispose();

    private InMemoryChannelLog GetOrCreate(string channelKey) =>
        _channels.GetOrAdd(channelKey, static (_, time) => new InMemoryChannelLog(LogPosition.NewEpoch(time.GetUtcNow())), _time);

    internal void Sweep()
    {
        var now = _time.GetUtcNow();
        foreach (var (key, log) in _channels)
        {
            if (log.TrimAndCheckIdle(now, _forgetIdleAfter))
            {
                _channels.TryRemove(new KeyValuePair<string, InMemoryChannelLog>(key, log));
            }
        }
    }
}
