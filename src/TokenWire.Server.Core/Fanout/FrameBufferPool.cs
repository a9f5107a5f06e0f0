using System.Collections.Concurrent;
using System.Numerics;

namespace TokenWire.Server.Fanout;

/// <summary>
/// The arrays <see cref="PooledBufferWriter"/> builds frames in, kept so that <see cref="Hosting.IdleMemoryTrimmer"/>
/// can give a burst's arrays back at once (issue #14 item 5).
/// <para>
/// Why not <see cref="System.Buffers.ArrayPool{T}.Shared"/>: under a burst every slow connection holds its frame
/// buffer while its socket drains, so the shared pool runs dry and allocates (measured under a 500k deliveries/s
/// overload: 180 MB of new arrays, most on the large object heap); once the buffers come back it keeps up to 32 of each
/// size per core plus one per thread, and gives them up only a few at a time, in gen2 collections at least 30-60 s after
/// their last use. Here every array that comes back is kept, so a burst rents no array twice, and <see cref="Trim"/>
/// drops every free one: the trimmer's compacting collection then takes their memory back.
/// </para>
/// </summary>
internal sealed class FrameBufferPool
{
    /// <summary>The pool every <see cref="PooledBufferWriter"/> rents from.</summary>
    internal static FrameBufferPool Shared { get; } = new();

    /// <summary>The smallest array: a frame writer's first rent (a typical frame and then some).</summary>
    internal const int MinimumLength = 4096;

    /// <summary>Above this (1 MiB) arrays are not kept: frames that large are rare and would pin their size in the pool.</summary>
    internal const int MaximumLength = 1 << 20;

    /// <summary>Free arrays by size: bucket i holds arrays of <see cref="MinimumLength"/> &lt;&lt; i bytes.</summary>
    private readonly ConcurrentQueue<byte[]>[] _buckets =
        [.. Enumerable.Range(0, BitOperations.Log2(MaximumLength / MinimumLength) + 1).Select(_ => new ConcurrentQueue<byte[]>())];

    private long _pooledBytes;

    /// <summary>Bytes in free arrays.</summary>
    public long PooledBytes => Interlocked.Read(ref _pooledBytes);

    /// <summary>An array of at least <paramref name="minimumLength"/> bytes (a power of two from 4 KiB), a free one when there is one.</summary>
    public byte[] Rent(int minimumLength)
    {
        var length = (int)BitOperations.RoundUpToPowerOf2((uint)Math.Max(minimumLength, MinimumLength));
        if (length > MaximumLength)
        {
            return GC.AllocateUninitializedArray<byte>(minimumLength);
        }

        if (_buckets[BucketOf(length)].TryDequeue(out var array))
        {
            Interlocked.Add(ref _pooledBytes, -array.Length);
            return array;
        }

        return GC.AllocateUninitializedArray<byte>(length);
    }

    /// <summary>Takes back an array this pool rented out; the caller must not touch it afterwards.</summary>
    public void Return(byte[] array)
    {
        if (array.Length is < MinimumLength or > MaximumLength || !BitOperations.IsPow2(array.Length))
        {
            return; // not one of ours, or too large to keep
        }

        _buckets[BucketOf(array.Length)].Enqueue(array);
        Interlocked.Add(ref _pooledBytes, array.Length);
    }

    /// <summary>Drops every free array (arrays in use stay with their writers and come back later); the bytes dropped.</summary>
    public long Trim()
    {
        var dropped = 0L;
        foreach (var bucket in _buckets)
        {
            while (bucket.TryDequeue(out var array))
            {
                dropped += array.Length;
            }
        }

        Interlocked.Add(ref _pooledBytes, -dropped);
        return dropped;
    }

    private static int BucketOf(int length) => BitOperations.Log2((uint)length) - BitOperations.Log2(MinimumLength);
}
