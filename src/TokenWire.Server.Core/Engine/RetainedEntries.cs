using System.Numerics;

namespace TokenWire.Server.Engine;

/// <summary>
/// A channel log's entries, by offset: contiguous from <see cref="FirstOffset"/> to <see cref="LastOffset"/>, added at
/// the end and trimmed from the front.
/// <para>
/// An entry costs 24 bytes: its stored bytes' slice, its log time as milliseconds after its segment's first entry,
/// and, for a version of a mutable message, how many offsets back its original is (a value either cannot hold, after
/// weeks of quiet or 2^31 messages, goes to a side table). Entries are kept in segments of
/// <see cref="SegmentEntries"/> (48 KB, below the large-object heap's threshold) that are freed as the log trims past
/// them, rather than in a list that doubles, copies itself and keeps up to half its capacity empty, on the large-object
/// heap once a channel retains a few thousand. A log that has never filled one segment grows its only one by doubling,
/// so a quiet channel holds a small array. This replaced a <c>List</c> of 32-byte entries (docs/benchmarks.md,
/// "Retained history and the GC", session 13).
/// </para>
/// Not thread-safe: the log's lock guards it.
/// </summary>
internal sealed class RetainedEntries
{
    internal const int SegmentEntries = 2048;
    private const int SegmentShift = 11;
    private const int MinEntries = 4;

    /// <summary>In <see cref="Packed.TimeDelta"/> or <see cref="Packed.VersionDelta"/>: the value is in <see cref="_wide"/>.</summary>
    private const int Wide = -1;

    private Segment?[] _segments = [];
    private int _segmentCount;

    /// <summary>The first segment still in use; the ones before it have been trimmed and are null.</summary>
    private int _firstSegment;

    /// <summary>The offset of position 0 (the first slot of <c>_segments[0]</c>).</summary>
    private long _baseOffset = 1;

    private long _firstOffset = 1;
    private long _lastOffset;
    private Dictionary<long, (long LoggedAt, long VersionOf)>? _wide;

    public int Count => (int)(_lastOffset - _firstOffset + 1);

    public long FirstOffset => _firstOffset;

    public long LastOffset => _lastOffset;

    /// <summary>How many entries the segments held could take (for tests of <see cref="Shrink"/>).</summary>
    internal int Capacity
    {
        get
        {
            var capacity = 0;
            for (var i = _firstSegment; i < _segmentCount; i++)
            {
                capacity += _segments[i]!.Items.Length;
            }

            return capacity;
        }
    }

    public Retained this[long offset]
    {
        get
        {
            var (segment, slot) = Locate(offset);
            ref readonly var packed = ref segment.Items[slot];
            var (loggedAt, versionOf) = Unpack(segment, in packed, offset);
            return new Retained(loggedAt, versionOf, new StoredBytes(packed.Array, packed.Start, packed.Length));
        }
    }

    public long LoggedAt(long offset)
    {
        var (segment, slot) = Locate(offset);
        var delta = segment.Items[slot].TimeDelta;
        return delta == Wide ? _wide![offset].LoggedAt : segment.BaseMs + delta;
    }

    public bool IsVersion(long offset)
    {
        var (segment, slot) = Locate(offset);
        return segment.Items[slot].VersionDelta != 0;
    }

    /// <summary>Appends the entry at <see cref="LastOffset"/> + 1 (its log time never before the last one's).</summary>
    public void Add(long loggedAt, long versionOf, StoredBytes stored)
    {
        var offset = _lastOffset + 1;
        var position = offset - _baseOffset;
        var index = (int)(position >> SegmentShift);
        var slot = (int)(position & (SegmentEntries - 1));
        if (index == _segmentCount)
        {
            // A new segment: a small one only while it is the first the log has filled since it was last empty.
            Append(new Segment(new Packed[index == 0 ? MinEntries : SegmentEntries], loggedAt));
        }

        var segment = _segments[index]!;
        if (slot == segment.Items.Length)
        {
            Array.Resize(ref segment.Items, segment.Items.Length * 2);
        }

        Put(segment, slot, offset, loggedAt, versionOf, stored);
        _lastOffset = offset;
    }

    /// <summary>Drops the entry at <see cref="FirstOffset"/>, and its segment once it holds no retained entry.</summary>
    public void RemoveFirst()
    {
        var (segment, slot) = Locate(_firstOffset);
        segment.Items[slot] = default; // lets its chunk go
        _wide?.Remove(_firstOffset);
        _firstOffset++;
        if (slot == SegmentEntries - 1 || Count == 0)
        {
            if (slot == SegmentEntries - 1)
            {
                _segments[_firstSegment++] = null;
            }

            if (Count == 0)
            {
                Reset();
            }
            else if (_firstSegment > 16 && _firstSegment > _segmentCount / 2)
            {
                // Keeps the directory from growing with the log's lifetime.
                Array.Copy(_segments, _firstSegment, _segments, 0, _segmentCount - _firstSegment);
                Array.Clear(_segments, _segmentCount - _firstSegment, _firstSegment);
                _segmentCount -= _firstSegment;
                _baseOffset += (long)_firstSegment << SegmentShift;
                _firstSegment = 0;
            }
        }
    }

    /// <summary>Copies a few entries left in large segments (after a burst expired) into one small segment.</summary>
    public void Shrink()
    {
        var capacity = Capacity;
        if (capacity <= MinEntries || capacity <= Shrinking.Oversized(Count) || Count > SegmentEntries / 2)
        {
            if (_segments.Length > 4 * Math.Max(_segmentCount, 1))
            {
                Array.Resize(ref _segments, Math.Max(_segmentCount, 1));
            }

            return;
        }

        var entries = new (long LoggedAt, long VersionOf, StoredBytes Stored)[Count];
        for (var offset = _firstOffset; offset <= _lastOffset; offset++)
        {
            var (loggedAt, versionOf, stored) = this[offset];
            entries[offset - _firstOffset] = (loggedAt, versionOf, stored);
        }

        var first = _firstOffset;
        Reset();
        _baseOffset = _firstOffset = first;
        _lastOffset = first - 1;
        if (entries.Length > 0)
        {
            var segment = new Segment(new Packed[Math.Max(MinEntries, (int)BitOperations.RoundUpToPowerOf2((uint)entries.Length))], entries[0].LoggedAt);
            Append(segment);
            foreach (var (loggedAt, versionOf, stored) in entries)
            {
                _lastOffset++;
                Put(segment, (int)(_lastOffset - first), _lastOffset, loggedAt, versionOf, stored);
            }
        }
    }

    private void Reset()
    {
        _segments = _segments.Length > 4 ? [] : _segments;
        Array.Clear(_segments);
        _segmentCount = 0;
        _firstSegment = 0;
        _baseOffset = _firstOffset;
        _wide = null;
    }

    private void Append(Segment segment)
    {
        if (_segmentCount == _segments.Length)
        {
            Array.Resize(ref _segments, Math.Max(4, _segments.Length * 2));
        }

        _segments[_segmentCount++] = segment;
    }

    private void Put(Segment segment, int slot, long offset, long loggedAt, long versionOf, StoredBytes stored)
    {
        var timeDelta = loggedAt - segment.BaseMs;
        var versionDelta = versionOf == 0 ? 0 : offset - versionOf;
        var wide = timeDelta is < 0 or >= int.MaxValue || versionDelta is < 0 or >= int.MaxValue;
        if (wide)
        {
            (_wide ??= [])[offset] = (loggedAt, versionOf);
        }

        segment.Items[slot] = new Packed(
            stored.Array, stored.Start, stored.Length, wide ? Wide : (int)timeDelta, versionOf == 0 ? 0 : wide ? Wide : (int)versionDelta);
    }

    private (long LoggedAt, long VersionOf) Unpack(Segment segment, in Packed packed, long offset)
    {
        if (packed.TimeDelta == Wide)
        {
            return _wide![offset];
        }

        return (segment.BaseMs + packed.TimeDelta, packed.VersionDelta == 0 ? 0 : offset - packed.VersionDelta);
    }

    private (Segment Segment, int Slot) Locate(long offset)
    {
        var position = offset - _baseOffset;
        return (_segments[(int)(position >> SegmentShift)]!, (int)(position & (SegmentEntries - 1)));
    }

    private sealed class Segment(Packed[] items, long baseMs)
    {
        public Packed[] Items = items;

        /// <summary>The log time the entries' <see cref="Packed.TimeDelta"/> count from.</summary>
        public readonly long BaseMs = baseMs;
    }

    /// <summary>An entry as kept: 24 bytes.</summary>
    private readonly record struct Packed(byte[] Array, int Start, int Length, int TimeDelta, int VersionDelta);
}

/// <summary>One retained entry: a message's stored bytes (a version's with its original's offset, offsets starting at 1).</summary>
internal readonly record struct Retained(long LoggedAt, long VersionOf, StoredBytes Stored);
