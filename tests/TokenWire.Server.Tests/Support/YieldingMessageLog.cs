using TokenWire.Protocol.Serials;
using TokenWire.Server.Engine;
using TokenWire.Server.Log;

namespace TokenWire.Server.Tests.Support;

/// <summary>
/// Wraps a log so every read completes asynchronously, on another thread, the way a remote log (Redis) would:
/// callers can no longer rely on a read finishing inside the lock they called it from.
/// </summary>
internal sealed class YieldingMessageLog(IMessageLog inner) : DelegatingMessageLog(inner)
{
    public override async ValueTask<MessageVersions?> ReadMessageAsync(ChannelKey channel, LogPosition serial, CancellationToken cancellationToken = default)
    {
        await Task.Yield();
        return await Inner.ReadMessageAsync(channel, serial, cancellationToken);
    }

    public override async ValueTask<bool> ContainsMessageAsync(ChannelKey channel, LogPosition serial, CancellationToken cancellationToken = default)
    {
        await Task.Yield();
        return await Inner.ContainsMessageAsync(channel, serial, cancellationToken);
    }

    public override async ValueTask<LogPosition> GetHeadAsync(ChannelKey channel, CancellationToken cancellationToken = default)
    {
        await Task.Yield();
        return await Inner.GetHeadAsync(channel, cancellationToken);
    }

    public override async ValueTask<ReadResult> ReadAfterAsync(ChannelKey channel, LogPosition after, int max, CancellationToken cancellationToken = default)
    {
        await Task.Yield();
        return await Inner.ReadAfterAsync(channel, after, max, cancellationToken);
    }

    public override async ValueTask<IReadOnlyList<LogEntry>> ReadRecentAsync(ChannelKey channel, int? count, long? sinceMs, LogPosition upTo, CancellationToken cancellationToken = default)
    {
        await Task.Yield();
        return await Inner.ReadRecentAsync(channel, count, sinceMs, upTo, cancellationToken);
    }

    public override async ValueTask<HistoryPage> ReadHistoryAsync(ChannelKey channel, HistoryQuery query, CancellationToken cancellationToken = default)
    {
        await Task.Yield();
        return await Inner.ReadHistoryAsync(channel, query, cancellationToken);
    }
}
