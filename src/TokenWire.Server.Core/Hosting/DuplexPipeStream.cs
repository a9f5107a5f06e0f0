using System.Buffers;
using System.IO.Pipelines;
using System.Runtime.CompilerServices;
using TokenWire.Server.Connections;

namespace TokenWire.Server.Hosting;

/// <summary>
/// A connection's transport pipes as the stream <see cref="System.Net.WebSockets.WebSocket.CreateFromStream(Stream, System.Net.WebSockets.WebSocketCreationOptions)"/>
/// wants. Holds no buffer of its own: a read waits on the pipe, which Kestrel fills only when data arrives. Disposing
/// wakes a pending read or flush (how a WebSocket's abort ends its loops) and leaves the pipes to Kestrel, which
/// completes them, flushing what was written, when the connection middleware returns. It also sends the WebSocket's
/// pings for the node's heartbeat wheel (<see cref="IWebSocketPinger"/>), so the socket needs no keep-alive timer.
/// </summary>
internal sealed class DuplexPipeStream(IDuplexPipe transport) : Stream, IWebSocketPinger, IWebSocketBackpressure
{
    private volatile bool _disposed;

    /// <summary>FIN + ping, no payload; a server's frames are unmasked.</summary>
    private static ReadOnlySpan<byte> PingFrame => [0x89, 0x00];

    /// <summary><see cref="Environment.TickCount64"/> when bytes last arrived from the peer.</summary>
    private long _lastReceivedTicks = Environment.TickCount64;

    /// <summary>
    /// 1 while a write's synchronous part runs (the copy into the pipe, its commit, the start of its flush). The
    /// WebSocket serializes its own writes, but a ping comes from the wheel's thread and must land between frames.
    /// </summary>
    private int _writing;

    /// <summary>
    /// The last write's or ping's flush, while it has not completed: the peer is not reading ours. A pipe has one flush in
    /// flight, so the next write awaits it first (and surfaces its failure), and a ping is skipped meanwhile.
    /// </summary>
    private volatile Task<FlushResult>? _pendingFlush;

    public override bool CanRead => true;

    public override bool CanWrite => true;

    public override bool CanSeek => false;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    // Pooled: a pending read lives until the client's next frame, long enough to be promoted by a collection if its
    // state machine were new each time (one per inbound frame); a pooled one is reused instead, already old.
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var input = transport.Input;
        var result = await input.ReadAsync(cancellationToken).ConfigureAwait(false);
        var data = result.Buffer;
        if (result.IsCanceled)
        {
            input.AdvanceTo(data.Start);
            throw new ObjectDisposedException(nameof(DuplexPipeStream));
        }

        if (!data.IsEmpty)
        {
            Volatile.Write(ref _lastReceivedTicks, Environment.TickCount64);
        }

        var count = (int)Math.Min(data.Length, buffer.Length);
        data.Slice(0, count).CopyTo(buffer.Span);
        input.AdvanceTo(data.GetPosition(count));
        return count;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    /// <summary>
    /// Copies <paramref name="buffer"/> into the pipe and starts its flush, and returns without waiting for the flush:
    /// the WebSocket rents the buffer of each frame it sends from the shared <see cref="ArrayPool{T}"/> and gives it
    /// back only when this returns, so a write that waited for a slow peer would hold one rented array per connection,
    /// which is how a burst filled that pool for good (docs/benchmarks.md, "Memory after a burst", session 11). The wait
    /// for the peer moves to the next write, or to <see cref="WhenWritableAsync"/> before the frame is rented.
    /// </summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        while (true)
        {
            EnterWrite();
            var pending = _pendingFlush;
            if (pending is null || pending.IsCompleted)
            {
                try
                {
                    _pendingFlush = null;
                    ThrowIfFailed(pending);
                    var flush = transport.Output.WriteAsync(buffer, cancellationToken);
                    if (flush.IsCompleted)
                    {
                        ThrowIfCanceled(flush.Result);
                    }
                    else
                    {
                        _pendingFlush = flush.AsTask();
                    }
                }
                finally
                {
                    Volatile.Write(ref _writing, 0);
                }

                return;
            }

            Volatile.Write(ref _writing, 0);
            await ((Task)pending).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing); // the loop's next turn surfaces a failure
        }
    }

    /// <inheritdoc/>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    public async ValueTask WhenWritableAsync()
    {
        if (_pendingFlush is { IsCompleted: false } pending)
        {
            await ((Task)pending).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing); // the next write surfaces a failure
        }
    }

    private static void ThrowIfFailed(Task<FlushResult>? flush)
    {
        if (flush is not null)
        {
            ThrowIfCanceled(flush.GetAwaiter().GetResult());
        }
    }

    private static void ThrowIfCanceled(FlushResult result)
    {
        if (result.IsCanceled)
        {
            throw new ObjectDisposedException(nameof(DuplexPipeStream));
        }
    }

    /// <inheritdoc/>
    public long LastReceivedTicks => Volatile.Read(ref _lastReceivedTicks);

    /// <inheritdoc/>
    public void SendPing()
    {
        // Skipped, not waited for, while a write runs: the wheel's thread never blocks on one connection.
        if (_disposed || _pendingFlush is { IsCompleted: false } || Interlocked.CompareExchange(ref _writing, 1, 0) != 0)
        {
            return;
        }

        try
        {
            if (_pendingFlush is { IsCompleted: false })
            {
                return;
            }

            // The client answers with a pong, which the WebSocket consumes; the read that brings it is all the wheel needs.
            var output = transport.Output;
            output.Write(PingFrame);
            var flush = output.FlushAsync();
            if (!flush.IsCompleted)
            {
                _pendingFlush = flush.AsTask();
            }
        }
        catch (InvalidOperationException)
        {
            // The pipe is completed: the connection is ending and the transport with it.
        }
        finally
        {
            Volatile.Write(ref _writing, 0);
        }
    }

    /// <summary>Waits out a ping being written (a few instructions: it never awaits while holding this).</summary>
    private void EnterWrite()
    {
        var spin = default(SpinWait);
        while (Interlocked.CompareExchange(ref _writing, 1, 0) != 0)
        {
            spin.SpinOnce();
        }
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    // Every write has flushed already. The WebSocket flushes after each frame and gives the frame's buffer back only
    // then, so waiting here for the peer would hold that buffer as long as waiting in the write did.
    public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public override void Flush()
    {
    }

    public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    public override void Write(byte[] buffer, int offset, int count) => WriteAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing && !_disposed)
        {
            _disposed = true;
            transport.Input.CancelPendingRead();
            transport.Output.CancelPendingFlush();
        }

        base.Dispose(disposing);
    }
}
