using System.Buffers;
using System.Collections.Concurrent;
using Microsoft.AspNetCore.Connections;

namespace TokenWire.Server.Hosting;

/// <summary>
/// The memory pools Kestrel's sockets and pipes take their 4 KiB blocks from, made so that
/// <see cref="IdleMemoryTrimmer"/> can give a burst's blocks back at once (issue #14 item 5).
/// <para>
/// Why not Kestrel's own pool: its blocks live in the pinned object heap, which is never compacted, and it evicts only a
/// few percent of its free blocks every 10 s once idle. Measured after a 500k deliveries/s burst, it still held 21.5 MB
/// a minute later, and blocks it had evicted kept their regions committed while a neighbouring block lived on.
/// These blocks are ordinary arrays: <see cref="Trim"/> drops every free one, and the compacting collection that
/// follows it in <see cref="IdleMemoryTrimmer"/> gives their memory back. Pinning buys nothing on Linux, where the
/// sockets copy from and to a buffer only inside the send or receive call; elsewhere a socket operation pins its
/// buffer for its duration.
/// </para>
/// </summary>
internal sealed class TrimmableMemoryPoolFactory : IMemoryPoolFactory<byte>
{
    private readonly ConcurrentBag<BlockPool> _pools = [];

    public MemoryPool<byte> Create(MemoryPoolOptions? options = null)
    {
        var pool = new BlockPool();
        _pools.Add(pool);
        return pool;
    }

    /// <summary>Free blocks across every pool made so far, in bytes.</summary>
    public long PooledBytes => _pools.Sum(static pool => pool.PooledBytes);

    /// <summary>Drops every free block (blocks in use are kept by their users and come back later); the bytes dropped.</summary>
    public long Trim() => _pools.Sum(static pool => pool.Trim());

    /// <summary>Fixed-size blocks on a lock-free queue, as Kestrel's pool keeps them, minus the pinning.</summary>
    internal sealed class BlockPool : MemoryPool<byte>
    {
        /// <summary>One OS page: the size Kestrel's pipes and socket reads are tuned for.</summary>
        internal const int BlockSize = 4096;

        private readonly ConcurrentQueue<Block> _free = new();
        private volatile bool _disposed;

        public override int MaxBufferSize => BlockSize;

        public long PooledBytes => (long)_free.Count * BlockSize;

        public override IMemoryOwner<byte> Rent(int minBufferSize = -1)
        {
            ArgumentOutOfRangeException.ThrowIfGreaterThan(minBufferSize, BlockSize);
            ObjectDisposedException.ThrowIf(_disposed, this);
            return _free.TryDequeue(out var block) ? block : new Block(this);
        }

        public long Trim()
        {
            var dropped = 0L;
            while (_free.TryDequeue(out _))
            {
                dropped += BlockSize;
            }

            return dropped;
        }

        internal void Return(Block block)
        {
            if (!_disposed)
            {
                _free.Enqueue(block);
            }
        }

        protected override void Dispose(bool disposing)
        {
            _disposed = true;
            Trim();
        }
    }

    internal sealed class Block(BlockPool pool) : IMemoryOwner<byte>
    {
        public Memory<byte> Memory { get; } = GC.AllocateUninitializedArray<byte>(BlockPool.BlockSize);

        public void Dispose() => pool.Return(this);
    }
}
