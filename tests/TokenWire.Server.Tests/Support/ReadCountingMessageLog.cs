using TokenWire.Protocol.Serials;
using TokenWire.Server.Engine;
using TokenWire.Server.Log;

namespace TokenWire.Server.Tests.Support;

/// <summary>
/// Wraps a log and counts the entries of <see cref="IMessageLog.ReadAfterAsync"/> results that a reader has looked at,
/// as an engine that decodes entries only when they are read would decode them.
/// </summary>
internal sealed class ReadCountingMessageLog(IMessageLog inner) : DelegatingMessageLog(inner)
{
    private int _entriesRead;

    /// <summary>Distinct entries of ReadAfter results read so far.</summary>
    public int EntriesRead => Volatile.Read(ref _entriesRead);

    public override async ValueTask<ReadResult> ReadAfterAsync(ChannelKey channel, LogPosition after, int max, CancellationToken cancellationToken = default)
    {
        var read = await Inner.ReadAfterAsync(channel, after, max, cancellationToken);
        return read with { Entries = new Counted(this, read.Entries) };
    }

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
