using System.Buffers;
using TokenWire.Protocol;
using TokenWire.Protocol.MessagePack;
using TokenWire.Protocol.Serials;
using TokenWire.Server.Log;

namespace TokenWire.Server.Engine;

/// <summary>
/// One channel's log in memory. Entries are contiguous by offset (<see cref="RetainedEntries"/>), so a position
/// lookup is arithmetic, and <see cref="LogEntry.LoggedAt"/> never decreases, so time bounds are binary searches.
/// A message is retained as its stored bytes (<see cref="StoredMessageCodec"/>), packed into <see cref="RetainedBytes"/>,
/// and decoded when read, outside the lock where the read allows; a version of a mutable message likewise, with its
/// original's serial and timestamp.
/// Every member takes the instance lock; it is held only for memory operations.
/// </summary>
internal sealed class InMemoryChannelLog(string epoch, Func<ReadOnlySpan<byte>, ulong>? idHash = null, DateTimeOffset created = default) : IStoredIds
{
    private readonly Lock _gate = new();
    private readonly RetainedEntries _entries = new();
    private readonly RetainedBytes _bytes = new();

    /// <summary>Where a thread encodes what it is about to store; its bytes are copied into <see cref="_bytes"/>.</summary>
    [ThreadStatic]
    private static ArrayBufferWriter<byte>? t_encoded;
    /// <summary>Idempotency: the offset each message id was stored at, while its window lasts.</summary>
    private readonly RetainedIds _ids = new(idHash);

    /// <summary>The first offset whose id's window may not have ended yet (<see cref="ExpireIds"/> walks from here).</summary>
    private long _idsFrom = 1;
    private readonly Dictionary<long, MutableMessageState> _mutated = [];
    private long _lastTimestamp;
    private ChannelRetention _retention;
    /// <summary>
    /// The last append, or the creation: a channel first seen by a read (an attach takes its epoch) keeps that epoch for
    /// the whole forget period, as the shared engine's does, instead of being forgotten by the next sweep.
    /// </summary>
    private DateTimeOffset _lastActivity = created;

    public LogPosition Head
    {
        get
        {
            lock (_gate)
            {
                return new LogPosition(epoch, LastOffset);
            }
        }
    }

    private int Count => _entries.Count;

    private long FirstOffset => _entries.FirstOffset;

    private long LastOffset => _entries.LastOffset;

    public AppendResult Append(IReadOnlyList<Message> messages, ChannelRetention retention, DateTimeOffset now, string? after)
    {
        var nowMs = now.ToUnixTimeMilliseconds();
        var serials = new string[messages.Count];
        var appended = new LogEntry[messages.Count]; // an array, not a list: one object less per append
        var count = 0;
        // Encoded before taking the lock: the stored form leaves out the serial and timestamp assigned under it.
        var encoded = Encoded();
        var ends = messages.Count <= 32 ? stackalloc int[messages.Count] : new int[messages.Count];
        for (var i = 0; i < messages.Count; i++)
        {
            messages[i].Action ??= 0;
            StoredMessageCodec.Encode(messages[i], encoded);
            ends[i] = encoded.WrittenCount;
        }

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
                if (message.Id is { } id && _ids.TryGet(id, this, out var existing))
                {
                    serials[i] = SerialAt(existing);
                    continue;
                }

                var offset = LastOffset + 1;
                var serial = SerialAt(offset);
                message.Serial = serial;
                message.Timestamp = timestamp;
                var start = i == 0 ? 0 : ends[i - 1];
                _entries.Add(timestamp, 0, _bytes.Add(encoded.WrittenSpan[start..ends[i]], nowMs));
                appended[count++] = new LogEntry(offset, message) { LoggedAt = timestamp };
                serials[i] = serial;
                if (message.Id is { } newId)
                {
                    _ids.Add(newId, offset);
                }
            }

            _lastTimestamp = timestamp;
            Trim(nowMs);
        }

        if (count < appended.Length)
        {
            Array.Resize(ref appended, count); // some were already stored (an idempotent retry)
        }

        return new AppendResult(serials, appended, epoch);
    }

    /// <summary>The publisher-order rule of <see cref="IMessageLog.AppendAsync"/>: the predecessor must be stored.</summary>
    private void EnsureStored(string? after)
    {
        if (after is not null && !_ids.TryGet(after, this, out _))
        {
            throw new AppendOutOfOrderException(after);
        }
    }

    public ReadResult ReadAfter(LogPosition after, int max)
    {
        List<ReadItem> slice;
        long from, head;
        bool continuous;
        lock (_gate)
        {
            head = LastOffset;
            if (after.Epoch != epoch || after.Offset > LastOffset)
            {
                return new ReadResult([], false, epoch, head);
            }

            // Continuous only if nothing after the position has been trimmed away.
            continuous = after.Offset + 1 >= FirstOffset;
            from = Math.Max(after.Offset + 1, FirstOffset);
            var count = (int)Math.Min(max, LastOffset - from + 1);
            slice = new List<ReadItem>(count);
            for (var offset = from; offset < from + count; offset++)
            {
                slice.Add(new ReadItem(offset, _entries[offset], null));
            }
        }

        // Decoded as the reader gets to each entry: a resume knows its continuity now, and sends ATTACHED and the
        // first frames while the rest are still bytes.
        return new ReadResult(new DecodedOnRead(this, slice), continuous, epoch, head);
    }

    public IReadOnlyList<LogEntry> ReadRecent(int? count, long? sinceMs, LogPosition upTo)
    {
        List<ReadItem> read;
        lock (_gate)
        {
            if (upTo.Epoch != epoch || Count == 0)
            {
                return [];
            }

            var last = Math.Min(upTo.Offset, LastOffset);
            var from = FirstOffset;
            if (sinceMs is { } since)
            {
                from = Math.Max(from, OffsetAtOrAfter(since));
            }

            // Newest first, skipping versions, until count originals; then oldest first for replay.
            var recent = new List<ReadItem>();
            for (var offset = last; offset >= from && (count is not { } n || recent.Count < n); offset--)
            {
                if (!IsVersion(offset))
                {
                    recent.Add(Materialize(offset, last));
                }
            }

            recent.Reverse();
            read = recent;
        }

        return DecodeAll(read);
    }

    public HistoryPage ReadHistory(HistoryQuery query)
    {
        List<ReadItem> page;
        LogPosition? next = null;
        lock (_gate)
        {
            if (Count == 0 || (query.Cursor is { } c && c.Epoch != epoch))
            {
                return new HistoryPage([], null);
            }

            // The window of offsets the query may return, before paging.
            var low = FirstOffset;
            var high = LastOffset;
            if (query.StartMs is { } start)
            {
                low = Math.Max(low, OffsetAtOrAfter(start));
            }

            if (query.EndMs is { } end)
            {
                high = Math.Min(high, end == long.MaxValue ? LastOffset : OffsetAtOrAfter(end + 1) - 1);
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
            var foldBound = query.Until is { } u && u.Epoch == epoch ? u.Offset : LastOffset;
            page = new List<ReadItem>(Math.Min(query.Limit, 256));
            var step = query.Forwards ? 1 : -1;
            for (var offset = query.Forwards ? low : high; offset >= low && offset <= high; offset += step)
            {
                if (IsVersion(offset))
                {
                    continue;
                }

                if (page.Count == query.Limit)
                {
                    next = new LogPosition(epoch, offset);
                    break;
                }

                page.Add(Materialize(offset, foldBound));
            }
        }

        // As stored, like a replay's read: a REST page writes them from their bytes (IStoredEntries).
        return new HistoryPage(new DecodedOnRead(this, page), next);
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
            if (operation.Id is { } id && _ids.TryGet(id, this, out var existing))
            {
                return new AppendResult([SerialAt(existing)], [], epoch);
            }

            EnsureStored(after);
            var originalSerial = new LogPosition(mutation.OriginalEpoch, mutation.OriginalOffset).ToSerial();
            if (mutation.OriginalEpoch != epoch || mutation.OriginalOffset < FirstOffset || mutation.OriginalOffset > LastOffset
                || IsVersion(mutation.OriginalOffset))
            {
                throw MutationRules.NotFound(originalSerial);
            }

            _mutated.TryGetValue(mutation.OriginalOffset, out var state);
            var original = state?.Original ?? Decode(mutation.OriginalOffset, _entries[mutation.OriginalOffset]);

            if (!mutation.MayChangeAny && (original.Message.ClientId is null || original.Message.ClientId != mutation.ActorClientId))
            {
                throw MutationRules.NotOwner(operation.Action == MessageActions.Delete ? "delete" : "update");
            }

            state ??= new MutableMessageState(original);

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
            var offset = LastOffset + 1;
            var serial = SerialAt(offset);
            // Broadcast form, as Ably sends it: the original's serial and create time (the version carries its own),
            // the current name (appends included, as the stock ably-js suite expects) and extras.
            operation.Serial = originalSerial;
            operation.Name = state.Name;
            operation.Extras = state.Extras;
            operation.ClientId = original.Message.ClientId;
            operation.Timestamp = original.Message.Timestamp;
            operation.Version = VersionPayload.Stamp(operation.Version, serial, timestamp);
            var entry = new LogEntry(offset, operation, original.Offset) { LoggedAt = timestamp };
            var encoded = Encoded();
            StoredMessageCodec.Encode(operation, encoded, withPosition: true);
            _entries.Add(timestamp, original.Offset, _bytes.Add(encoded.WrittenSpan, nowMs));
            state.VersionOffsets.Add(offset);
            if (operation.Id is { } newId)
            {
                _ids.Add(newId, offset);
            }

            _lastTimestamp = timestamp;
            Trim(nowMs);
            return new AppendResult([serial], [entry], epoch);
        }
    }

    public MessageVersions? ReadMessage(LogPosition serial)
    {
        LogEntry original;
        List<ReadItem> versions = [];
        lock (_gate)
        {
            if (serial.Epoch != epoch || serial.Offset < FirstOffset || serial.Offset > LastOffset || IsVersion(serial.Offset))
            {
                return null;
            }

            if (!_mutated.TryGetValue(serial.Offset, out var state))
            {
                return new MessageVersions(Decode(serial.Offset, _entries[serial.Offset]), []);
            }

            original = state.Original;
            foreach (var offset in state.VersionOffsets)
            {
                versions.Add(new ReadItem(offset, _entries[offset], null));
            }
        }

        return new MessageVersions(original, DecodeAll(versions));
    }

    /// <summary>Whether an original message (not a version) is retained at <paramref name="serial"/>.</summary>
    public bool ContainsMessage(LogPosition serial)
    {
        lock (_gate)
        {
            return serial.Epoch == epoch && serial.Offset >= FirstOffset && serial.Offset <= LastOffset && !IsVersion(serial.Offset);
        }
    }

    /// <summary>
    /// Drops expired entries and ids and gives back what a burst grew; true when the channel is empty and idle long
    /// enough to forget.
    /// </summary>
    public bool TrimAndCheckIdle(DateTimeOffset now, TimeSpan forgetIdleAfter)
    {
        lock (_gate)
        {
            var nowMs = now.ToUnixTimeMilliseconds();
            ExpireIds(nowMs);
            Trim(nowMs);
            Shrink();
            return Count == 0 && _ids.Count == 0 && now - _lastActivity > forgetIdleAfter;
        }
    }

    /// <summary>What the entry list and the id tables can hold before they grow (for tests of <see cref="Shrink"/>).</summary>
    internal (int Entries, int Ids) Capacity
    {
        get
        {
            lock (_gate)
            {
                return (_entries.Capacity, _ids.Capacity);
            }
        }
    }

    long IStoredIds.FirstOffset => FirstOffset;

    ReadOnlySpan<byte> IStoredIds.IdAt(long offset) => IdAt(offset);

    private bool IsVersion(long offset) => _entries.IsVersion(offset);

    private string SerialAt(long offset) => new LogPosition(epoch, offset).ToSerial();

    /// <summary>An original as a read returns it: folded with its versions up to the bound if it has any (a ready
    /// entry), else as stored, decoded later outside the lock.</summary>
    private ReadItem Materialize(long offset, long upToOffset)
    {
        if (!_mutated.TryGetValue(offset, out var state))
        {
            return new ReadItem(offset, _entries[offset], null);
        }

        return new ReadItem(offset, default, state.Original with { Message = Fold(state, upToOffset) });
    }

    /// <summary>
    /// A mutated message as of <paramref name="upToOffset"/>. The latest fold is kept and extended by the versions
    /// after it, so a message being streamed to is never refolded from the start (nor its versions decoded again);
    /// a fold to an earlier bound (an <c>untilAttach</c> read mid-stream) is made from the start and not kept.
    /// </summary>
    private Message Fold(MutableMessageState state, long upToOffset)
    {
        var versions = state.VersionOffsets;
        if (versions.Count == 0 || upToOffset < versions[0])
        {
            return state.Original.Message;
        }

        if (upToOffset < versions[^1])
        {
            var index = versions.BinarySearch(upToOffset);
            var count = index >= 0 ? index + 1 : ~index; // the versions at or before the bound
            return MessageAggregation.Fold(state.Original, DecodeVersions(versions, 0, count), upToOffset);
        }

        if (state.Folded is null || state.FoldedThrough != versions[^1])
        {
            var from = state.Folded is null ? 0 : versions.BinarySearch(state.FoldedThrough) + 1;
            var start = state.Folded is null ? state.Original : state.Original with { Message = state.Folded };
            state.Folded = MessageAggregation.Fold(start, DecodeVersions(versions, from, versions.Count), long.MaxValue);
            state.FoldedThrough = versions[^1];
        }

        return state.Folded;
    }

    private List<LogEntry> DecodeVersions(List<long> offsets, int from, int to)
    {
        var versions = new List<LogEntry>(to - from);
        for (var i = from; i < to; i++)
        {
            versions.Add(Decode(offsets[i], _entries[offsets[i]]));
        }

        return versions;
    }

    private LogEntry Decode(long offset, Retained retained) => Stored(offset, retained).Decode();

    private StoredEntry Stored(long offset, Retained retained) =>
        new(epoch, offset, retained.VersionOf == 0 ? null : retained.VersionOf, retained.LoggedAt, retained.Stored.Sequence.First);

    private LogEntry[] DecodeAll(List<ReadItem> read)
    {
        var entries = new LogEntry[read.Count];
        for (var i = 0; i < read.Count; i++)
        {
            entries[i] = read[i].Ready ?? Decode(read[i].Offset, read[i].Stored);
        }

        return entries;
    }

    /// <summary>The first offset whose timestamp is at or after <paramref name="ms"/> (last+1 if none).</summary>
    private long OffsetAtOrAfter(long ms)
    {
        long lo = FirstOffset, hi = LastOffset + 1;
        while (lo < hi)
        {
            var mid = lo + ((hi - lo) >>> 1);
            if (_entries.LoggedAt(mid) < ms)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid;
            }
        }

        return lo;
    }

    private void Trim(long nowMs)
    {
        var oldest = nowMs - (long)_retention.MaxAge.TotalMilliseconds;
        while (Count > 0 && (Count > _retention.MaxMessages || _entries.LoggedAt(FirstOffset) < oldest))
        {
            if (_mutated.Count > 0)
            {
                _mutated.Remove(FirstOffset);
            }

            if (FirstOffset >= _idsFrom)
            {
                // Trimmed (by count, or a window longer than the retention) before its id's window ended.
                _ids.Detach(IdAt(FirstOffset), FirstOffset, IdExpiresAt(_entries.LoggedAt(FirstOffset)));
                _idsFrom = FirstOffset + 1;
            }

            _entries.RemoveFirst();
        }
    }

    /// <summary>This thread's encoding buffer, emptied; one that grew large for a big message is not kept.</summary>
    private static ArrayBufferWriter<byte> Encoded()
    {
        if (t_encoded is not { Capacity: <= 64 * 1024 } encoded)
        {
            return t_encoded = new ArrayBufferWriter<byte>(1024);
        }

        encoded.ResetWrittenCount();
        return encoded;
    }

    /// <summary>
    /// Ends the window of every id stored before <c>nowMs - window</c>: entries are in time order, so a walk from the
    /// first id still in its window, each id read back from its message's bytes, needs no expiry record per message.
    /// </summary>
    private void ExpireIds(long nowMs)
    {
        _idsFrom = Math.Max(_idsFrom, FirstOffset);
        while (_idsFrom <= LastOffset && IdExpiresAt(_entries.LoggedAt(_idsFrom)) <= nowMs)
        {
            _ids.Remove(IdAt(_idsFrom), _idsFrom);
            _idsFrom++;
        }

        _ids.ExpireDetached(nowMs);
    }

    private long IdExpiresAt(long loggedAt) => loggedAt + (long)_retention.IdempotencyWindow.TotalMilliseconds;

    private ReadOnlySpan<byte> IdAt(long offset) => StoredMessageCodec.IdOf(_entries[offset].Stored.Span);

    /// <summary>Gives back the capacity a burst grew (<see cref="Shrinking"/>).</summary>
    private void Shrink()
    {
        _entries.Shrink();
        Shrinking.IfOversized(_mutated);
        _ids.Shrink();
        if (Count == 0)
        {
            // Nothing is retained in the open chunk any more: let it go rather than keep it until the next message.
            _bytes.Release();
        }
    }

    /// <summary>An entry a read returns: as stored, decoded later outside the lock, or ready (an original folded with its versions).</summary>
    private readonly record struct ReadItem(long Offset, Retained Stored, LogEntry? Ready);

    /// <summary>
    /// Entries copied out under the lock as stored (or folded), each stored one decoded (outside it) the first time it
    /// is read, or given as stored to a reader that relays them (<see cref="IStoredEntries"/>). Read by one reader at a
    /// time, in practice in order; a racing second read of an entry would only decode it twice.
    /// </summary>
    private sealed class DecodedOnRead(InMemoryChannelLog log, List<ReadItem> items) : IReadOnlyList<LogEntry>, IStoredEntries
    {
        private readonly LogEntry?[] _decoded = new LogEntry?[items.Count];

        public int Count => items.Count;

        public LogEntry this[int index] => _decoded[index] ??= items[index].Ready ?? log.Decode(items[index].Offset, items[index].Stored);

        public bool TryGetStored(int index, out StoredEntry entry)
        {
            var item = items[index];
            entry = item.Ready is null ? log.Stored(item.Offset, item.Stored) : default;
            return item.Ready is null;
        }

        public IEnumerator<LogEntry> GetEnumerator()
        {
            for (var i = 0; i < items.Count; i++)
            {
                yield return this[i];
            }
        }

        System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
    }
}
