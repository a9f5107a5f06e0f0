using TokenWire.Protocol;
using TokenWire.Protocol.Serials;
using TokenWire.Server.Fanout;
using TokenWire.Server.Log;

namespace TokenWire.Server.Channels;

/// <summary>
/// Append rollup (the publisher's <c>appendRollupWindow</c>, see <see cref="Connections.AppendRollup"/>): an append
/// to a message that had an append go out less than a window ago is held, and the appends that follow it from the
/// same connection to the same message join it, until the window ends (a timer) or anything else is to be delivered
/// (log order is kept). The held appends then go out as one <c>message.append</c>: their text concatenated, the id,
/// extras and version of the last, the channelSerial of the last. Every subscriber gets the same roll-up; the log
/// keeps each append, so history, versions and replays read as if nothing were rolled up. A new attachment first
/// flushes what is held: held appends are at or before its attach point. All members run under the channel lock.
/// </summary>
public sealed partial class LocalChannel
{
    private HeldAppends? _heldAppends;
    private ITimer? _rollupTimer;

    private bool TryHoldAppend(LogEntry entry, MessageSnapshot? snapshot, string? publisherConnectionId, TimeSpan window)
    {
        if (window <= TimeSpan.Zero || entry.Message.Action != MessageActions.Append || entry.VersionOf is not { } original
            || !_aggregates.TryGetValue(original, out var aggregate) || aggregate is null)
        {
            return false;
        }

        if (_heldAppends is { } held)
        {
            if (held.Original != original || held.PublisherConnectionId != publisherConnectionId)
            {
                return false;
            }

            held.Add(entry, snapshot);
            return true;
        }

        var sinceLast = _time.GetElapsedTime(aggregate.LastAppendSentAt);
        if (sinceLast >= window)
        {
            return false; // the first append after a quiet window goes out at once
        }

        _heldAppends = new HeldAppends(original, publisherConnectionId);
        _heldAppends.Add(entry, snapshot);
        _rollupTimer ??= _time.CreateTimer(_ => OnRollupWindowEnded(), null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        _rollupTimer.Change(window - sinceLast, Timeout.InfiniteTimeSpan);
        return true;
    }

    private void MarkAppendSent(LogEntry entry)
    {
        if (entry.Message.Action == MessageActions.Append && entry.VersionOf is { } original
            && _aggregates.TryGetValue(original, out var aggregate) && aggregate is not null)
        {
            aggregate.LastAppendSentAt = _time.GetTimestamp();
        }
    }

    private void OnRollupWindowEnded()
    {
        lock (_gate)
        {
            if (!_closed)
            {
                FlushHeldAppends();
            }
        }
    }

    /// <summary>Sends what is held as one roll-up, to the subscribers of this moment.</summary>
    private void FlushHeldAppends()
    {
        if (_heldAppends is not { } held)
        {
            return;
        }

        _heldAppends = null;
        if (_aggregates.TryGetValue(held.Original, out var aggregate) && aggregate is not null)
        {
            aggregate.LastAppendSentAt = _time.GetTimestamp();
        }

        if (_subscribers.Length > 0)
        {
            var rolled = held.RollUp();
            _dispatcher.Post(new MessageBatch(Name, new LogPosition(_epoch, rolled.Offset).ToSerial(), [rolled], held.PublisherConnectionId), _subscribers);
        }
    }

    /// <summary>Appends held back for a roll-up: one message, one publisher, in log order.</summary>
    private sealed class HeldAppends(long original, string? publisherConnectionId)
    {
        private readonly List<LogEntry> _entries = [];
        private MessageSnapshot? _snapshot;

        public long Original { get; } = original;

        public string? PublisherConnectionId { get; } = publisherConnectionId;

        public void Add(LogEntry entry, MessageSnapshot? snapshot)
        {
            _entries.Add(entry);
            _snapshot = snapshot;
        }

        public DeliveredMessage RollUp()
        {
            var last = _entries[^1];
            var message = last.Message;
            if (_entries.Count > 1)
            {
                message = last.Message.Clone();
                message.Data = MessageData.FromText(string.Concat(_entries.Select(e => e.Message.Data.Text)));
            }

            // Lag counts from the first append rolled in: the window held it back.
            return new DeliveredMessage(message, last.Offset, last.VersionOf, _snapshot, _entries[0].LoggedAt);
        }
    }
}
