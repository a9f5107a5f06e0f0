using System.IO.Hashing;
using System.Numerics;
using System.Text;

namespace TokenWire.Server.Engine;

/// <summary>
/// A channel log's idempotency table: the offset each message id was stored at, while its window lasts.
/// <para>
/// An id whose message is still retained costs one 8-byte slot of an open-addressed table (linear probing, at most
/// three quarters full): a 32-bit fingerprint of the id's 64-bit keyed hash, whose low bits are its home slot, and the low 32 bits of its offset, which
/// are enough because the retained offsets span fewer than 2^32 (<see cref="IStoredIds.FirstOffset"/> restores the rest).
/// A hit counts only if the id stored in that message's bytes is the same (<see cref="IStoredIds"/>), and every slot
/// of the probe run with the same fingerprint is checked, so a collision can never deduplicate a different id nor hide
/// one. It needs no expiry record: the log expires these ids by walking its entries in offset order
/// (<see cref="Remove"/>), and a removal shifts the rest of its run back, so hours of traffic leave no tombstones.
/// This replaced a <c>Dictionary&lt;ulong, long&gt;</c> (24-byte entries, 4-byte buckets and growth slack: about
/// 37 B per retained id against ~14 B now; docs/benchmarks.md, "Retained history and the GC", session 13).
/// </para>
/// <para>
/// An id that outlives its message (a window longer than the retention, or a message trimmed by count) is kept
/// exactly: under a 128-bit keyed hash, with an expiry record of its own.
/// </para>
/// Not thread-safe: the log's lock guards it.
/// </summary>
internal sealed class RetainedIds(Func<ReadOnlySpan<byte>, ulong>? hash = null)
{
    /// <summary>Seeded per process, so ids whose hashes collide cannot be chosen.</summary>
    private static readonly long Seed = Random.Shared.NextInt64();

    /// <summary>Ids longer than this (in UTF-16 chars) are encoded into an array instead of on the stack.</summary>
    private const int StackChars = 128;

    private const int MinSlots = 8;

    /// <summary>Tables from this many slots (8 KB) up are allocated pinned (<see cref="Resize"/>).</summary>
    private const int PinnedSlots = 1024;

    private readonly Func<ReadOnlySpan<byte>, ulong> _hash = hash ?? (static id => XxHash3.HashToUInt64(id, Seed));

    /// <summary>Fingerprint (never 0) in the high half, offset's low 32 bits in the low half; 0 is an empty slot.</summary>
    private ulong[] _slots = [];
    private int _retained;
    private readonly Dictionary<UInt128, long> _detached = [];
    private readonly Queue<(long ExpiresAtMs, UInt128 Key)> _detachedExpiry = new();

    public int Count => _retained + _detached.Count;

    /// <summary>What the tables can hold before they grow (for tests of <see cref="Shrink"/>).</summary>
    internal int Capacity => _slots.Length + _detached.EnsureCapacity(0);

    /// <summary>The offset <paramref name="id"/> was stored at, if it is within its window.</summary>
    public bool TryGet(string id, IStoredIds log, out long offset)
    {
        Span<byte> buffer = id.Length <= StackChars ? stackalloc byte[StackChars * 3] : new byte[Encoding.UTF8.GetMaxByteCount(id.Length)];
        var utf8 = buffer[..Encoding.UTF8.GetBytes(id, buffer)];
        if (_retained > 0)
        {
            var fingerprint = Fingerprint(_hash(utf8));
            var mask = _slots.Length - 1;
            for (var i = (int)fingerprint & mask; _slots[i] != 0; i = (i + 1) & mask)
            {
                if (_slots[i] >> 32 == fingerprint)
                {
                    offset = OffsetOf(_slots[i], log.FirstOffset);
                    if (log.IdAt(offset).SequenceEqual(utf8))
                    {
                        return true;
                    }
                }
            }
        }

        offset = 0;
        return _detached.Count > 0 && _detached.TryGetValue(KeyOf(utf8), out offset);
    }

    /// <summary>Records the id of the message just stored at <paramref name="offset"/> (not already present: see <see cref="TryGet"/>).</summary>
    public void Add(string id, long offset)
    {
        Span<byte> buffer = id.Length <= StackChars ? stackalloc byte[StackChars * 3] : new byte[Encoding.UTF8.GetMaxByteCount(id.Length)];
        var utf8 = buffer[..Encoding.UTF8.GetBytes(id, buffer)];
        if ((_retained + 1) * 4L > _slots.Length * 3L)
        {
            Resize(Math.Max(MinSlots, _slots.Length * 2));
        }

        Insert((Fingerprint(_hash(utf8)) << 32) | (uint)offset);
        _retained++;
    }

    /// <summary>The window of the id stored at <paramref name="offset"/> has ended.</summary>
    public void Remove(ReadOnlySpan<byte> id, long offset)
    {
        if (_retained == 0)
        {
            return;
        }

        var fingerprint = Fingerprint(_hash(id));
        var wanted = (fingerprint << 32) | (uint)offset;
        var mask = _slots.Length - 1;
        var i = (int)fingerprint & mask;
        while (_slots[i] != wanted)
        {
            if (_slots[i] == 0)
            {
                return; // not here: it had no window left to end (or was detached)
            }

            i = (i + 1) & mask;
        }

        // Backward-shift deletion: each later slot of the run moves into the gap if its home is not between the gap
        // and itself, so lookups never need tombstones.
        var gap = i;
        for (var j = (gap + 1) & mask; _slots[j] != 0; j = (j + 1) & mask)
        {
            var home = (int)(_slots[j] >> 32) & mask;
            if (((j - home) & mask) >= ((j - gap) & mask))
            {
                _slots[gap] = _slots[j];
                gap = j;
            }
        }

        _slots[gap] = 0;
        _retained--;
    }

    /// <summary>The message at <paramref name="offset"/> is being trimmed while its id's window lasts: keep the id exactly.</summary>
    public void Detach(ReadOnlySpan<byte> id, long offset, long expiresAtMs)
    {
        Remove(id, offset);
        var key = KeyOf(id);
        _detached[key] = offset;
        _detachedExpiry.Enqueue((expiresAtMs, key));
    }

    public void ExpireDetached(long nowMs)
    {
        while (_detachedExpiry.TryPeek(out var item) && item.ExpiresAtMs <= nowMs)
        {
            _detachedExpiry.Dequeue();
            _detached.Remove(item.Key);
        }
    }

    /// <summary>Gives back what a burst grew (<see cref="Shrinking"/>).</summary>
    public void Shrink()
    {
        if (_slots.Length > Shrinking.Oversized(_retained))
        {
            Resize(_retained == 0 ? 0 : Math.Max(MinSlots, (int)BitOperations.RoundUpToPowerOf2((uint)(_retained * 2))));
        }

        Shrinking.IfOversized(_detached);
        if (_detachedExpiry.EnsureCapacity(0) > Shrinking.Oversized(_detachedExpiry.Count))
        {
            _detachedExpiry.TrimExcess();
        }
    }

    /// <summary>Places a slot in a table with room (its home is its fingerprint's low bits, so it needs no rehash).</summary>
    private void Insert(ulong slot)
    {
        var mask = _slots.Length - 1;
        var i = (int)(slot >> 32) & mask;
        while (_slots[i] != 0)
        {
            i = (i + 1) & mask;
        }

        _slots[i] = slot;
    }

    private void Resize(int slots)
    {
        var old = _slots;
        // A large table goes on the pinned object heap, which the GC treats as old: a burst's growth is not copied
        // by the ephemeral collections that follow it (it holds no references, so the GC never scans it either).
        _slots = slots == 0 ? [] : GC.AllocateArray<ulong>(slots, pinned: slots >= PinnedSlots);
        foreach (var slot in old)
        {
            if (slot != 0)
            {
                Insert(slot);
            }
        }
    }

    /// <summary>The high half of the id's hash, never 0 (an empty slot); its low bits are the slot's home.</summary>
    private static ulong Fingerprint(ulong hashed) => (hashed >> 32) | (hashed >> 32 == 0 ? 1UL : 0UL);

    private static long OffsetOf(ulong slot, long firstOffset) => firstOffset + (uint)((uint)slot - (uint)firstOffset);

    private static UInt128 KeyOf(ReadOnlySpan<byte> id) => XxHash128.HashToUInt128(id, Seed);
}

/// <summary>What <see cref="RetainedIds"/> checks a hit against: the id in a retained message's stored bytes.</summary>
internal interface IStoredIds
{
    /// <summary>The first retained offset: every id in the table belongs to a message at or after it.</summary>
    long FirstOffset { get; }

    /// <summary>The UTF-8 id of the message at <paramref name="offset"/>, which is retained; empty if it has none.</summary>
    ReadOnlySpan<byte> IdAt(long offset);
}
