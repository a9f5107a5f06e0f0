using TokenWire.Protocol;
using TokenWire.Protocol.Serials;
using TokenWire.Server.Engine;
using TokenWire.Server.Log;

namespace TokenWire.Server.Tests.Support;

/// <summary>A log that passes every call to <paramref name="inner"/>: test decorators override only what they change.</summary>
internal abstract class DelegatingMessageLog(IMessageLog inner) : IMessageLog
{
    protected IMessageLog Inner => inner;

    public virtual ValueTask<AppendResult> AppendAsync(ChannelKey channel, IReadOnlyList<Message> messages, ChannelRetention retention, string? after = null, CancellationToken cancellationToken = default) =>
        inner.AppendAsync(channel, messages, retention, after, cancellationToken);

    public virtual ValueTask<AppendResult> AppendMutationAsync(ChannelKey channel, MessageMutation mutation, ChannelRetention retention, string? after = null, CancellationToken cancellationToken = default) =>
        inner.AppendMutationAsync(channel, mutation, retention, after, cancellationToken);

    public virtual ValueTask PublishEphemeralAsync(ChannelKey channel, IReadOnlyList<Message> messages, CancellationToken cancellationToken = default) =>
        inner.PublishEphemeralAsync(channel, messages, cancellationToken);

    public virtual ValueTask<LogPosition> GetHeadAsync(ChannelKey channel, CancellationToken cancellationToken = default) =>
        inner.GetHeadAsync(channel, cancellationToken);

    public virtual ValueTask<ReadResult> ReadAfterAsync(ChannelKey channel, LogPosition after, int max, CancellationToken cancellationToken = default) =>
        inner.ReadAfterAsync(channel, after, max, cancellationToken);

    public virtual ValueTask<IReadOnlyList<LogEntry>> ReadRecentAsync(ChannelKey channel, int? count, long? sinceMs, LogPosition upTo, CancellationToken cancellationToken = default) =>
        inner.ReadRecentAsync(channel, count, sinceMs, upTo, cancellationToken);

    public virtual ValueTask<MessageVersions?> ReadMessageAsync(ChannelKey channel, LogPosition serial, CancellationToken cancellationToken = default) =>
        inner.ReadMessageAsync(channel, serial, cancellationToken);

    public virtual ValueTask<bool> ContainsMessageAsync(ChannelKey channel, LogPosition serial, CancellationToken cancellationToken = default) =>
        inner.ContainsMessageAsync(channel, serial, cancellationToken);

    public virtual ValueTask<HistoryPage> ReadHistoryAsync(ChannelKey channel, HistoryQuery query, CancellationToken cancellationToken = default) =>
        inner.ReadHistoryAsync(channel, query, cancellationToken);
}
