using System.Buffers;
using System.Numerics;

namespace TokenWire.Server.Engine;

/// <summary>
/// Where one channel log keeps its messages' stored bytes: packed one after another into chunks allocated on the
/// pinned object heap, which the GC treats as old from the start. A retained message is a slice of a chunk rather
/// than an array of its own, so an ephemeral collection neither copies it nor finds an old-to-young reference to it,
/// and a collection's cost no longer grows with the history being retained (each message used to be a young array,
/// promoted twice and reached through the log's old entry list). A chunk lives while any slice of it is referenced:
/// the GC frees it once the log has trimmed its last message and no read still holds one. Chunks are sized to the
/// channel's rate, so a quiet channel holds a small one. Not thread-safe: the log's lock guards it.
/// </summary>
internal sealed class RetainedBytes
{
    private const int MinChunkBytes = 512;
    private const int MaxChunkBytes = 64 * 1024;

    /// <summary>Messages larger than this get an array of their own instead of most of a chunk.</summary>
    private const int MaxPackedBytes = MaxChunkBytes / 4;

    /// <summary>A new chunk is sized to hold about this much of the channel's traffic, at the rate the last one filled.</summary>
    private const long ChunkSpanMs = 2_000;

    /// <summary>
    /// A chunk larger than <see cref="SmallChunkBytes"/> takes no new message once it is this old, so a channel that
    /// was busy and went quiet does not keep a large chunk alive with a trickle of messages.
    /// </summary>
    private const long MaxOpenMs = 10_000;

    private const int SmallChunkBytes = 4 * 1024;

    private byte[]? _chunk;
    private int _used;
    private long _chunkStartedMs;

    /// <summary>Copies <paramref name="bytes"/> in; the slice stays valid (and unchanged) for as long as it is held.</summary>
    public StoredBytes Add(ReadOnlySpan<byte> bytes, long nowMs)
    {
        if (bytes.Length > MaxPackedBytes)
        {
            return new StoredBytes(bytes.ToArray(), 0, bytes.Length);
        }

        if (_chunk is null || _chunk.Length - _used < bytes.Length || (_chunk.Length > SmallChunkBytes && nowMs - _chunkStartedMs > MaxOpenMs))
        {
            var size = NextChunkSize(bytes.Length, nowMs);
            _chunk = GC.AllocateUninitializedArray<byte>(size, pinned: true);
            _used = 0;
            _chunkStartedMs = nowMs;
        }

        bytes.CopyTo(_chunk.AsSpan(_used));
        var stored = new StoredBytes(_chunk, _used, bytes.Length);
        _used += bytes.Length;
        return stored;
    }

    /// <summary>Lets the open chunk go (the log holds none of its messages any more); the next message starts a small one.</summary>
    public void Release()
    {
        _chunk = null;
        _used = 0;
    }

    private int NextChunkSize(int needed, long nowMs)
    {
        var bytesPerSecond = _chunk is null ? 0 : _used * 1000L / Math.Max(1, nowMs - _chunkStartedMs);
        var wanted = Math.Max(bytesPerSecond * ChunkSpanMs / 1000, needed);
        return (int)Math.Clamp(BitOperations.RoundUpToPowerOf2((ulong)wanted), MinChunkBytes, MaxChunkBytes);
    }
}

/// <summary>A message's stored bytes: a slice of a <see cref="RetainedBytes"/> chunk (or an array of its own).</summary>
internal readonly record struct StoredBytes(byte[] Array, int Start, int Length)
{
    public ReadOnlySequence<byte> Sequence => new(Array, Start, Length);

    public ReadOnlySpan<byte> Span => new(Array, Start, Length);
}
