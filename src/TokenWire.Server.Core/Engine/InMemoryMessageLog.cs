using System.Collections.Concurrent;
using TokenWire.Protocol;
using TokenWire.Protocol.Serials;
using TokenWire.Server.Log;

namespace TokenWire.Server.Engine;

/// <summary>
/// The embedded engine's log: one <see cref="InMemoryChannelLog"/> per channel, each with its own lock, so appends
/// to different channels never contend. A sweeper trims expired history and forgets long-idle empty channels. What
/// an append adds is handed to <see cref="Bus"/> once the channel's lock is released: receivers order by offset, so
/// concurrent appends may arrive in either order.
/// </summary>
public sealed class InMemoryMessageLog : IMessageLog, IDisposable
{
    /// <summary>Often enough that expired history does not linger, rare enough to cost nothing.</summary>
    private static readonly TimeSpan SweepInterval = TimeSpan.FromSeconds(10);

    private readonly ConcurrentDictionary<ChannelKey, InMemoryChannelLog> _channels = new();
    private readonly TimeProvider _time;
    private readonly TimeSpan _forgetIdleAfter;
    private readonly ITimer _sweeper;

    /// <param name="forgetIdleAfter">How long an empty channel keeps its epoch, so recent serials stay resumable.</param>
    /// <param name="bus">Where appends are delivered; a bus of its own when none is given.</param>
    public InMemoryMessageLog(TimeProvider time, TimeSpan forgetIdleAfter, InMemoryMessageBus? bus = null)
    {
        _time = time;
        Bus = bus ?? new InMemoryMessageBus();
        _forgetIdleAfter = forgetIdleAfter;
        _sweeper = time.CreateTimer(_ => Sweep(), null, SweepInterval, SweepInterval);
    }

    /// <summary>The bus this log's appends are delivered on.</summary>
    public InMemoryMessageBus Bus { get; }

    public ValueTask<AppendResult> AppendAsync(ChannelKey channel, IReadOnlyList<Message> messages, ChannelRetention retention, string? after = null, CancellationToken cancellationToken = default)
    {
        var result = GetOrCreate(channel).Append(messages, retention, _time.GetUtcNow(), after);
        if (result.Appended.Count > 0)
        {
            Bus.Deliver(new BusEnvelope(channel, result.Epoch, result.Appended, messages[0].ConnectionId));
        }

        return ValueTask.FromResult(result);
    }

    public ValueTask<LogPosition> GetHeadAsync(ChannelKey channel, CancellationToken cancellationToken = default) =>
        ValueTask.FromResult(GetOrCreate(channel).Head);

    public ValueTask<ReadResult> ReadAfterAsync(ChannelKey channel, LogPosition after, int max, CancellationToken cancellationToken = default) =>
        ValueTask.FromResult(GetOrCreate(channel).ReadAfter(after, max));

    public ValueTask<IReadOnlyList<LogEntry>> ReadRecentAsync(ChannelKey channel, int? count, long? sinceMs, LogPosition upTo, CancellationToken cancellationToken = default) =>
        ValueTask.FromResult(GetOrCreate(channel).ReadRecent(count, sinceMs, upTo));

    public ValueTask<AppendResult> AppendMutationAsync(ChannelKey channel, MessageMutation mutation, ChannelRetention retention, string? after = null, CancellationToken cancellationToken = default)
    {
        var result = GetOrCreate(channel).AppendMutation(mutation, retention, _time.GetUtcNow(), after);
        if (result.Appended.Count > 0)
        {
            Bus.Deliver(new BusEnvelope(channel, result.Epoch, result.Appended, mutation.Operation.ConnectionId) { AppendRollupWindow = mutation.AppendRollupWindow });
        }

        return ValueTask.FromResult(result);
    }

    public ValueTask PublishEphemeralAsync(ChannelKey channel, IReadOnlyList<Message> messages, CancellationToken cancellationToken = default)
    {
        if (messages.Count > 0)
        {
            var entries = messages.Select(static m => new LogEntry(0, m) { LoggedAt = m.Timestamp ?? 0 }).ToArray();
            Bus.Deliver(new BusEnvelope(channel, string.Empty, entries, messages[0].ConnectionId, Ephemeral: true));
        }

        return ValueTask.CompletedTask;
    }

    public ValueTask<MessageVersions?> ReadMessageAsync(ChannelKey channel, LogPosition serial, CancellationToken cancellationToken = default) =>
        ValueTask.FromResult(_channels.TryGetValue(channel, out var log) ? log.ReadMessage(serial) : null);

    public ValueTask<bool> ContainsMessageAsync(ChannelKey channel, LogPosition serial, CancellationToken cancellationToken = default) =>
        ValueTask.FromResult(_channels.TryGetValue(channel, out var log) && log.ContainsMessage(serial));

    public ValueTask<HistoryPage> ReadHistoryAsync(ChannelKey channel, HistoryQuery query, CancellationToken cancellationToken = default) =>
        ValueTask.FromResult(_channels.TryGetValue(channel, out var log)
            ? log.ReadHistory(query)
            : new HistoryPage([], null));

    public void Dispose() => _sweeper.Dispose();

    private InMemoryChannelLog GetOrCreate(ChannelKey channel) =>
        _channels.GetOrAdd(channel, static (_, time) =>
        {
            var now = time.GetUtcNow();
            return new InMemoryChannelLog(LogPosition.NewEpoch(now), created: now);
        }, _time);

    internal void Sweep()
    {
        var now = _time.GetUtcNow();
        foreach (var (key, log) in _channels)
        {
            if (log.TrimAndCheckIdle(now, _forgetIdleAfter))
            {
                _channels.TryRemove(new KeyValuePair<ChannelKey, InMemoryChannelLog>(key, log));
            }
        }
    }
}
