using TokenWire.Protocol;
using TokenWire.Protocol.Serials;
using TokenWire.Server.Log;

namespace TokenWire.Server.Tests.Support;

/// <summary>
/// Wraps a log so every read completes asynchronously, on another thread, the way a remote log (Redis) would:
/// callers can no longer rely on a read finishing inside the lock they called it from.
/// </summary>
internal sealed class YieldingMessageLog(IMessageLog inner) : IMessageLog
{
    public ValueTask<AppendResult> AppendAsync(string channelKey, IReadOnlyList<Message> messages, ChannelRetention retention, CancellationToken cancellationToken = default) =>
        inner.AppendAsync(channelKey, messages, retention, cancellationToken);

    public ValueTask<AppendResult> AppendMutationAsync(string channelKey, MessageMutation mutation, ChannelRetention retention, CancellationToken cancellationToken = default) =>
        inner.AppendMutationAsync(channelKey, mutation, retention, cancellationToken);

    public async ValueTask<MessageVersions?> ReadMessageAsync(string channelKey, LogPosition serial, CancellationToken cancellationToken = default)
    {
        await Task.Yield();
        return await inner.ReadMessageAsync(channelKey, serial, cancellationToken);
    }

    public async ValueTask<LogPosition> GetHeadAsync(string channelKey, CancellationToken cancellationToken = default)
    {
        await Task.Yield();
        return await inner.GetHeadAsync(channelKey, cancellationToken);
    }

    public async ValueTask<ReadResult> ReadAfterAsync(string channelKey, LogPosition after, int max, CancellationToken cancellationToken = default)
    {
        await Task.Yield();
        return await inner.ReadAfterAsync(channelKey, after, max, cancellationToken);
    }

    public async ValueTask<IReadOnlyList<LogEntry>> ReadRecentAsync(string channelKey, int? count, long? sinceMs, LogPosition upTo, CancellationToken cancellationToken = default)
    {
        await Task.Yield();
        return await inner.ReadRecentAsync(channelKey, count, sinceMs, upTo, cancellationToken);
    }

    public async ValueTask<HistoryPage> ReadHistoryAsync(string channelKey, HistoryQuery query, CancellationToken cancellationToken = default)
    {
        await Task.Yield();
        return await inner.ReadHistoryAsync(channelKey, query, cancellationToken);
    }
}
