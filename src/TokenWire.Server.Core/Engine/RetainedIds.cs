using System.IO.Hashing;
using System.Text;

namespace TokenWire.Server.Engine;

/// <summary>
/// A channel log's idempotency table: the offset each message id was stored at, while its window lasts.
/// <para>
/// An id whose message is still retained costs one 24-byte dictionary entry: it is keyed by a 64-bit keyed hash, and
/// a hit counts only if the id stored in that message's bytes is the same (<see cref="IStoredIds"/>), so a collision
/// can never deduplicate a different id. It needs no expiry record either: the log expires these ids by walking its
/// entries in offset order (<see cref="Remove"/>). This replaced a 128-bit key plus an expiry queue item per message,
/// about 100 B per retained message with the collections' growth, measured after a flood (docs/benchmarks.md,
/// "Memory after a burst").
/// </para>
/// <para>
/// An id that outlives its message (a window longer than the retention, or a message trimmed by count), or whose
/// 64-bit hash another retained id already has, is kept exactly as before: under a 128-bit keyed hash, with an expiry
/// record of its own.
/// </para>
/// Not thread-safe: the log's lock guards it.
/// </summary>
internal sealed class RetainedIds(Func<ReadOnlySpan<byte>, ulong>? hash = null)
{
    /// <summary>Seeded per process, so ids whose hashes collide cannot be chosen.</summary>
    private static readonly long Seed = Random.Shared.NextInt64();

    /// <summary>Ids longer than this (in UTF-16 chars) are encoded into an array instead of on the stack.</summary>
    private const int StackChars = 128;

    private readonly Func<ReadOnlySpan<byte>, ulong> _hash = hash ?? (static id => XxHash3.HashToUInt64(id, Seed));
    private readonly Dictionary<ulong, long> _retained = [];
    private readonly Dictionary<UInt128, long> _detached = [];
    private readonly Queue<(long ExpiresAtMs, UInt128 Key)> _detachedExpiry = new();

    public int Count => _retained.Count + _detached.Count;

    /// <summary>What the tables can hold before they grow (for tests of <see cref="Shrink"/>).</summary>
    internal int Capacity => _retained.EnsureCapacity(0) + _detached.EnsureCapacity(0);

    /// <summary>The offset <paramref name="id"/> was stored at, if it is within its window.</summary>
    public bool TryGet(string id, IStoredIds log, out long offset)
    {
        Span<byte> buffer = id.Length <= StackChars ? stackalloc byte[StackChars * 3] : new byte[Encoding.UTF8.GetMaxByteCount(id.Length)];
        var utf8 = buffer[..Encoding.UTF8.GetBytes(id, buffer)];
        if (_retained.TryGetValue(_hash(utf8), out offset) && log.IdAt(offset).SequenceEqual(utf8))
        {
            return true;
        }

        return _detached.Count > 0 && _detached.TryGetValue(KeyOf(utf8), out offset);
    }

    /// <summary>Records the id of the message just stored at <paramref name="offset"/> (not already present: see <see cref="TryGet"/>).</summary>
    public void Add(string id, long offset, long expiresAtMs)
    {
        Span<byte> buffer = id.Length <= StackChars ? stackalloc byte[StackChars * 3] : new byte[Encoding.UTF8.GetMaxByteCount(id.Length)];
        var utf8 = buffer[..Encoding.UTF8.GetBytes(id, buffer)];
        if (!_retained.TryAdd(_hash(utf8), offset))
        {
            // Another retained id has this 64-bit hash: this one is kept exactly instead.
            Detach(utf8, offset, expiresAtMs);
        }
    }

    /// <summary>The window of the id stored at <paramref name="offset"/> has ended.</summary>
    public void Remove(ReadOnlySpan<byte> id, long offset)
    {
        var key = _hash(id);
        if (_retained.TryGetValue(key, out var stored) && stored == offset)
        {
            _retained.Remove(key);
        }
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
        Shrinking.IfOversized(_retained);
        Shrinking.IfOversized(_detached);
        if (_detachedExpiry.EnsureCapacity(0) > Shrinking.Oversized(_detachedExpiry.Count))
        {
            _detachedExpiry.TrimExcess();
        }
    }

    private static UInt128 KeyOf(ReadOnlySpan<byte> id) => XxHash128.HashToUInt128(id, Seed);
}

/// <summary>What <see cref="RetainedIds"/> checks a hit against: the id in a retained message's stored bytes.</summary>
internal interface IStoredIds
{
    /// <summary>The UTF-8 id of the message at <paramref name="offset"/>, which is retained; empty if it has none.</summary>
    ReadOnlySpan<byte> IdAt(long offset);
}
