using TokenWire.Protocol;
using TokenWire.Protocol.Serials;
using TokenWire.Server.Engine;
using TokenWire.Server.Log;

namespace TokenWire.Server.Tests.Support;

/// <summary>
/// Wraps a log so every read completes asynchronously, on another thread, the way a remote log (Redis) would:
/// callers can no longer rely on a read finishing inside the lock they called it from.
/// </summary>
internal sealed class YieldingMessageLog(IMessageLog inner) : IMessageLog
{
    public ValueTask<AppendResult> AppendAsync(ChannelKey channelKey, IReadOnlyList<Message> messages, ChannelRetention retention, string? after = null, CancellationToken cancellationToken = default) =>
        inner.AppendAsync(channelKey, messages, retention, after, cancellationToken);

    public ValueTask<AppendResult> AppendMutationAsync(ChannelKey channelKey, MessageMutation mutation, ChannelRetention retention, string? after = null, CancellationToken cancellationToken = default) =>
        inner.AppendMutationAsync(channelKey, mutation, retention, after, cancellationToken);

    public ValueTask PublishEphemeralAsync(ChannelKey channel, IReadOnlyList<Message> messages, CancellationToken cancellationToken = default) =>
        inner.PublishEphemeralAsync(channel, messages, cancellationToken);

    public async ValueTask<MessageVersions?> ReadMessageAsync(ChannelKey channelKey, LogPosition serial, CancellationToken cancellationToken = default)
    {
        await Task.Yield();
        return await inner.ReadMessageAsync(channelKey, serial, cancellationToken);
    }

    public async ValueTask<bool> ContainsMessageAsync(ChannelKey channelKey, LogPosition serial, CancellationToken cancellationToken = default)
    {
        await Task.Yield();
        return await inner.ContainsMessageAsync(channelKey, serial, cancellationToken);
    }

    public async ValueTask<LogPosition> GetHeadAsync(ChannelKey channelKey, CancellationToken cancellationToken = default)
    {
        await Task.Yield();
        return await inner.GetHeadAsync(channelKey, cancellationToken);
    }

    public async ValueTask<ReadResult> ReadAfterAsync(ChannelKey channelKey, LogPosition after, int max, CancellationToken cancellationToken = default)
    {
        await Task.Yield();
        return await inner.ReadAfterAsync(channelKey, after, max, cancellationToken);
    }

    public async ValueTask<IReadOnlyList<LogEntry>> ReadRecentAsync(ChannelKey channelKey, int? count, long? sinceMs, LogPosition upTo, CancellationToken cancellationToken = default)
    {
        await Task.Yield();
        return await inner.ReadRecentAsync(channelKey, count, sinceMs, upTo, cancellationToken);
    }

    public async ValueTask<HistoryPage> ReadHistoryAsync(ChannelKey channelKey, HistoryQuery query, CancellationToken cancellationToken = default)
    {
        await Task.Yield();
        return await inner.ReadHistoryAsync(channelKey, query, cancellationToken);
    }
}
