using TokenWire.Protocol;
using TokenWire.Protocol.Serials;
using TokenWire.Server.Log;

namespace TokenWire.Server.Engine;

/// <summary>
/// One channel's log in memory. Entries are contiguous by offset (entry i has offset FirstOffset + i), so a
/// position lookup is arithmetic, and <see cref="LogEntry.LoggedAt"/> never decreases, so time bounds are binary searches.
/// Every member takes the instance lock; it is held only for memory operations.
/// </summary>
internal sealed class InMemoryChannelLog(string epoch)
{
    private readonly Lock _gate = new();
    private readonly List<LogEntry> _entries = [];
    private readonly Dictionary<string, string> _serialsById = new(StringComparer.Ordinal);
    private readonly Queue<(long ExpiresAtMs, string Id)> _idExpiry = new();
    private readonly Dictionary<long, MutableMessageState> _mutated = [];
    private int _start;
    private long _lastOffset;
    private long _lastTimestamp;
    private ChannelRetention _retention;
    private DateTimeOffset _lastActivity = DateTimeOffset.MinValue;

    public LogPosition Head
    {
        get
        {
            lock (_gate)
            {
                return new LogPosition(epoch, _lastOffset);
            }
        }
    }

    private int Count => _entries.Count - _start;

    private long FirstOffset => _lastOffset - Count + 1;

    public AppendResult Append(IReadOnlyList<Message> messages, ChannelRetention retention, DateTimeOffset now, string? after)
    {
        var nowMs = now.ToUnixTimeMilliseconds();
        var serials = new string[messages.Count];
        var appended = new List<LogEntry>(messages.Count);
        lock (_gate)
        {
            _retention = retention;
            _lastActivity = now;
            ExpireIds(nowMs);
            EnsureStored(after);
            // Timestamps never go backwards within a channel, so history time bounds can binary-search.
            var timestamp = Math.Max(nowMs, _lastTimestamp);
            for (var i = 0; i < messages.Count; i++)
            {
                var message = messages[i];
                if (message.Id is { } id && _serialsById.TryGetValue(id, out var existing))
                {
                    serials[i] = existing;
                    continue;
                }

                var offset = ++_lastOffset;
                var serial = new LogPosition(epoch, offset).ToSerial();
                message.Serial = serial;
                message.Timestamp = timestamp;
                message.Action ??= 0;
                var entry = new LogEntry(offset, message) { LoggedAt = timestamp };
                _entries.Add(entry);
                appended.Add(entry);
                serials[i] = serial;
                if (message.Id is { } newId)
                {
                    _serialsById[newId] = serial;
                    _idExpiry.Enqueue((nowMs + (long)retention.IdempotencyWindow.TotalMilliseconds, newId));
                }
            }

            _lastTimestamp = timestamp;
            Trim(nowMs);
        }

        return new AppendResult(serials, appended, epoch);
    }

    /// <summary>The publisher-order rule of <see cref="IMessageLog.AppendAsync"/>: the predecessor must be stored.</summary>
    private void EnsureStored(string? after)
    {
        if (after is not null && !_serialsById.ContainsKey(after))
        {
            throw new AppendOutOfOrderException(after);
        }
    }

    public ReadResult ReadAfter(LogPosition after, int max)
    {
        lock (_gate)
        {
            if (after.Epoch != epoch || after.Offset > _lastOffset)
            {
                return new ReadResult([], false, epoch, _lastOffset);
            }

            // Continuous only if nothing after the position has been trimmed away.
            var continuous = after.Offset + 1 >= FirstOffset;
            var from = Math.Max(after.Offset + 1, FirstOffset);
            var count = (int)Math.Min(max, _lastOffset - from + 1);
            return new ReadResult(Slice(from, count), continuous, epoch, _lastOffset);
        }
    }

    public IReadOnlyList<LogEntry> ReadRecent(int? count, long? sinceMs, LogPosition upTo)
    {
        lock (_gate)
        {
            if (upTo.Epoch != epoch || Count == 0)
            {
                return [];
            }

            var last = Math.Min(upTo.Offset, _lastOffset);
            var from = FirstOffset;
            if (sinceMs is { } since)
            {
                from = Math.Max(from, OffsetAtOrAfter(since));
            }

            // Newest first, skipping versions, until count originals; then oldest first for replay.
            var recent = new List<LogEntry>();
            for (var offset = last; offset >= from && (count is not { } n || recent.Count < n); offset--)
            {
                if (At(offset) is { IsVersion: false } entry)
                {
                    recent.Add(Materialize(entry, last));
                }
            }

            recent.Reverse();
            return recent;
        }
    }

    public HistoryPage ReadHistory(HistoryQuery query)
    {
        lock (_gate)
        {
            if (Count == 0 || (query.Cursor is { } c && c.Epoch != epoch))
            {
                return new HistoryPage([], null);
            }

            // The window of offsets the query may return, before paging.
            var low = FirstOffset;
            var high = _lastOffset;
            if (query.StartMs is { } start)
            {
                low = Math.Max(low, OffsetAtOrAfter(start));
            }

            if (query.EndMs is { } end)
            {
                high = Math.Min(high, end == long.MaxValue ? _lastOffset : OffsetAtOrAfter(end + 1) - 1);
            }

            if (query.Until is { } until)
            {
                var cmp = string.CompareOrdinal(until.Epoch, epoch);
                if (cmp < 0)
                {
                    return new HistoryPage([], null);
                }

                if (cmp == 0)
                {
                    high = Math.Min(high, until.Offset);
                }
            }

            if (query.Cursor is { } cursor)
            {
                if (query.Forwards)
                {
                    low = Math.Max(low, cursor.Offset);
                }
                else
                {
                    high = Math.Min(high, cursor.Offset);
                }
            }

            if (low > high)
            {
                return new HistoryPage([], null);
            }

            // Versions are skipped: each original appears once, folded with its versions up to the bound.
            var foldBound = query.Until is { } u && u.Epoch == epoch ? u.Offset : _lastOffset;
            var page = new List<LogEntry>(Math.Min(query.Limit, 256));
            LogPosition? next = null;
            var step = query.Forwards ? 1 : -1;
            for (var offset = query.Forwards ? low : high; offset >= low && offset <= high; offset += step)
            {
                var entry = At(offset);
                if (entry.IsVersion)
                {
                    continue;
                }

                if (page.Count == query.Limit)
                {
                    next = new LogPosition(epoch, offset);
                    break;
                }

                page.Add(Materialize(entry, foldBound));
            }

            return new HistoryPage(page, next);
        }
    }

    public AppendResult AppendMutation(MessageMutation mutation, ChannelRetention retention, DateTimeOffset now, string? after)
    {
        var nowMs = now.ToUnixTimeMilliseconds();
        var operation = mutation.Operation;
        lock (_gate)
        {
            _retention = retention;
            _lastActivity = now;
            ExpireIds(nowMs);
            if (operation.Id is { } id && _serialsById.TryGetValue(id, out var existing))
            {
                return new AppendResult([existing], [], epoch);
            }

            EnsureStored(after);
            var originalSerial = new LogPosition(mutation.OriginalEpoch, mutation.OriginalOffset).ToSerial();
            if (mutation.OriginalEpoch != epoch || mutation.OriginalOffset < FirstOffset || mutation.OriginalOffset > _lastOffset
                || At(mutation.OriginalOffset) is not { IsVersion: false } original)
            {
                throw MutationRules.NotFound(originalSerial);
            }

            if (!mutation.MayChangeAny && (original.Message.ClientId is null || original.Message.ClientId != mutation.ActorClientId))
            {
                throw MutationRules.NotOwner(operation.Action == MessageActions.Delete ? "delete" : "update");
            }

            if (!_mutated.TryGetValue(original.Offset, out var state))
            {
                state = new MutableMessageState(original);
            }

            if (operation.Action == MessageActions.Append)
            {
                if (!MutationRules.CanAppendTo(state.Kind))
                {
                    throw MutationRules.TargetNotText();
                }

                var size = state.DataSize + operation.Data.Size;
                if (mutation.MaxMessageSize > 0 && size > mutation.MaxMessageSize)
                {
                    throw MutationRules.WholeTooLarge(size, mutation.MaxMessageSize);
                }

                state.Kind = MutationRules.Text;
                state.DataSize = size;
            }
            else if (!operation.Data.IsNone)
            {
                state.Kind = MutationRules.DataKind(operation);
                state.DataSize = operation.Data.Size;
            }

            _mutated[original.Offset] = state;
            state.Name = operation.Name ?? state.Name;
            state.Extras = operation.Extras ?? state.Extras;

            // After the original's timestamp, strictly, and never backwards within the channel.
            var timestamp = Math.Max(Math.Max(nowMs, _lastTimestamp), (original.Message.Timestamp ?? 0) + 1);
            var offset = ++_lastOffset;
            var serial = new LogPosition(epoch, offset).ToSerial();
            // Broadcast form, as Ably sends it: the original's serial and create time (the version carries its own),
            // the current name and extras; an append does not repeat the name.
            operation.Serial = originalSerial;
            operation.Name = operation.Action == MessageActions.Append ? null : state.Name;
            operation.Extras = state.Extras;
            operation.ClientId = original.Message.ClientId;
            operation.Timestamp = original.Message.Timestamp;
            operation.Version = VersionPayload.Stamp(operation.Version, serial, timestamp);
            var entry = new LogEntry(offset, operation, original.Offset) { LoggedAt = timestamp };
            _entries.Add(entry);
            state.Add(entry);
            if (operation.Id is { } newId)
            {
                _serialsById[newId] = serial;
                _idExpiry.Enqueue((nowMs + (long)retention.IdempotencyWindow.TotalMilliseconds, newId));
            }

            _lastTimestamp = timestamp;
            Trim(nowMs);
            return new AppendResult([serial], [entry], epoch);
        }
    }

    public MessageVersions? ReadMessage(LogPosition serial)
    {
        lock (_gate)
        {
            if (serial.Epoch != epoch || serial.Offset < FirstOffset || serial.Offset > _lastOffset || At(serial.Offset) is not { IsVersion: false } original)
            {
                return null;
            }

            return new MessageVersions(original, _mutated.TryGetValue(original.Offset, out var state) ? [.. state.Versions] : []);
        }
    }

    /// <summary>Drops expired entries and ids; true when the channel is empty and idle long enough to forget.</summary>
    public bool TrimAndCheckIdle(DateTimeOffset now, TimeSpan forgetIdleAfter)
    {
        lock (_gate)
        {
            var nowMs = now.ToUnixTimeMilliseconds();
            ExpireIds(nowMs);
            Trim(nowMs);
            return Count == 0 && _serialsById.Count == 0 && now - _lastActivity > forgetIdleAfter;
        }
    }

    private LogEntry At(long offset) => _entries[_start + (int)(offset - FirstOffset)];

    private LogEntry Materialize(LogEntry original, long upToOffset) =>
        _mutated.TryGetValue(original.Offset, out var state) ? original with { Message = state.Fold(upToOffset) } : original;

    private List<LogEntry> Slice(long fromOffset, int count)
    {
        var index = _start + (int)(fromOffset - FirstOffset);
        return _entries.GetRange(index, count);
    }

    /// <summary>The first offset whose timestamp is at or after <paramref name="ms"/> (last+1 if none).</summary>
    private long OffsetAtOrAfter(long ms)
    {
        int lo = _start, hi = _entries.Count;
        while (lo < hi)
        {
            var mid = (lo + hi) >>> 1;
            if (_entries[mid].LoggedAt < ms)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid;
            }
        }

        return FirstOffset + (lo - _start);
    }

    private void Trim(long nowMs)
    {
        var oldest = nowMs - (long)_retention.MaxAge.TotalMilliseconds;
        while (Count > 0 && (Count > _retention.MaxMessages || _entries[_start].LoggedAt < oldest))
        {
            if (_mutated.Count > 0)
            {
                _mutated.Remove(FirstOffset);
            }

            _entries[_start] = null!;
            _start++;
        }

        // Compact occasionally so trimming stays amortised O(1) per entry.
        if (_start > 1024 && _start > _entries.Count / 2)
        {
            _entries.RemoveRange(0, _start);
            _start = 0;
        }
    }

    private void ExpireIds(long nowMs)
    {
        while (_idExpiry.TryPeek(out var item) && item.ExpiresAtMs <= nowMs)
        {
            _idExpiry.Dequeue();
            _serialsById.Remove(item.Id);
        }
    }
}
