using TokenWire.Protocol;
using TokenWire.Protocol.Serials;
using TokenWire.Server.Engine;
using TokenWire.Server.Log;

namespace TokenWire.Server.Tests.Support;

/// <summary>
/// Wraps a log and counts the entries of <see cref="IMessageLog.ReadAfterAsync"/> results that a reader has looked at,
/// as an engine that decodes entries only when they are read would decode them.
/// </summary>
internal sealed class ReadCountingMessageLog(IMessageLog inner) : IMessageLog
{
    private int _entriesRead;

    /// <summary>Distinct entries of ReadAfter results read so far.</summary>
    public int EntriesRead => Volatile.Read(ref _entriesRead);

    public async ValueTask<ReadResult> ReadAfterAsync(ChannelKey channelKey, LogPosition after, int max, CancellationToken cancellationToken = default)
    {
        var read = await inner.ReadAfterAsync(channelKey, after, max, cancellationToken);
        return read with { Entries = new Counted(this, read.Entries) };
    }

    public ValueTask<AppendResult> AppendAsync(ChannelKey channelKey, IReadOnlyList<Message> messages, ChannelRetention retention, string? after = null, CancellationToken cancellationToken = default) =>
        inner.AppendAsync(channelKey, messages, retention, after, cancellationToken);

    public ValueTask<AppendResult> AppendMutationAsync(ChannelKey channelKey, MessageMutation mutation, ChannelRetention retention, string? after = null, CancellationToken cancellationToken = default) =>
        inner.AppendMutationAsync(channelKey, mutation, retention, after, cancellationToken);

    public ValueTask PublishEphemeralAsync(ChannelKey channel, IReadOnlyList<Message> messages, CancellationToken cancellationToken = default) =>
        inner.PublishEphemeralAsync(channel, messages, cancellationToken);

    public ValueTask<MessageVersions?> ReadMessageAsync(ChannelKey channelKey, LogPosition serial, CancellationToken cancellationToken = default) =>
        inner.ReadMessageAsync(channelKey, serial, cancellationToken);

    public ValueTask<bool> ContainsMessageAsync(ChannelKey channelKey, LogPosition serial, CancellationToken cancellationToken = default) =>
        inner.ContainsMessageAsync(channelKey, serial, cancellationToken);

    public ValueTask<LogPosition> GetHeadAsync(ChannelKey channelKey, CancellationToken cancellationToken = default) =>
        inner.GetHeadAsync(channelKey, cancellationToken);

    public ValueTask<IReadOnlyList<LogEntry>> ReadRecentAsync(ChannelKey channelKey, int? count, long? sinceMs, LogPosition upTo, CancellationToken cancellationToken = default) =>
        inner.ReadRecentAsync(channelKey, count, sinceMs, upTo, cancellationToken);

    public ValueTask<HistoryPage> ReadHistoryAsync(ChannelKey channelKey, HistoryQuery query, CancellationToken cancellationToken = default) =>
        inner.ReadHistoryAsync(channelKey, query, cancellationToken);

    private sealed class Counted(ReadCountingMessageLog log, IReadOnlyList<LogEntry> entries) : IReadOnlyList<LogEntry>
    {
        private readonly bool[] _seen = new bool[entries.Count];

        public int Count => entries.Count;

        public LogEntry this[int index]
        {
            get
            {
                if (!_seen[index])
                {
                    _seen[index] = true;
                    Interlocked.Increment(ref log._entriesRead);
                }

                return entries[index];
            }
        }

        public IEnumerator<LogEntry> GetEnumerator()
        {
            for (var i = 0; i < entries.Count; i++)
            {
                yield return this[i];
            }
        }

        System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
    }
}
