using System.Buffers;

namespace TokenWire.Server.Fanout;

/// <summary>
/// An <see cref="IBufferWriter{T}"/> over arrays rented from <see cref="FrameBufferPool"/> and returned by
/// <see cref="Reset"/>, so an idle connection's egress holds no buffer at all between frames, and a burst's buffers go
/// back to the pool the idle trimmer empties.
/// </summary>
/// <param name="pool">Where the arrays come from: <see cref="FrameBufferPool.Shared"/> unless a test says otherwise.</param>
internal sealed class PooledBufferWriter(FrameBufferPool? pool = null) : IBufferWriter<byte>
{
    private readonly FrameBufferPool _pool = pool ?? FrameBufferPool.Shared;

    private byte[] _buffer = [];
    private int _written;

    public ReadOnlyMemory<byte> WrittenMemory => _buffer.AsMemory(0, _written);

    public void Advance(int count) => _written += count;

    public Memory<byte> GetMemory(int sizeHint = 0)
    {
        Ensure(sizeHint);
        return _buffer.AsMemory(_written);
    }

    public Span<byte> GetSpan(int sizeHint = 0)
    {
        Ensure(sizeHint);
        return _buffer.AsSpan(_written);
    }

    /// <summary>Forgets what was written and keeps the array for the next frame.</summary>
    public void Clear() => _written = 0;

    /// <summary>Forgets what was written and gives the array back to the pool.</summary>
    public void Reset()
    {
        if (_buffer.Length > 0)
        {
            _pool.Return(_buffer);
            _buffer = [];
        }

        _written = 0;
    }

    private void Ensure(int sizeHint)
    {
        var needed = _written + Math.Max(sizeHint, 1);
        if (needed <= _buffer.Length)
        {
            return;
        }

        var next = _pool.Rent(Math.Max(needed, _buffer.Length * 2));
        _buffer.AsSpan(0, _written).CopyTo(next);
        if (_buffer.Length > 0)
        {
            _pool.Return(_buffer);
        }

        _buffer = next;
    }
}
