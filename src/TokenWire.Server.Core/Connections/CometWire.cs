using System.Buffers;
using System.Buffers.Binary;
using TokenWire.Protocol;

namespace TokenWire.Server.Connections;

/// <summary>
/// The egress side of a comet transport: frames the egress writes wait here until a recv (or the connect request)
/// takes them, all at once, as one array of ProtocolMessages — JSON (<c>[…]</c>) or MessagePack (an array of maps). A
/// receiver takes only once the egress has flushed (its queue is drained), so everything queued goes out in one
/// response. The writer is held back while more than a response's worth waits untaken: the egress queue's byte bound
/// then ends a client that stopped polling, as it ends a WebSocket that stopped reading.
/// </summary>
internal sealed class CometWire(WireFormat format, int maxPendingBytes) : IEgressWire
{
    private readonly Lock _gate = new();
    private ArrayBufferWriter<byte> _pending = new();
    private int _pendingCount;
    private bool _flushed;
    private bool _completed;
    private TaskCompletionSource? _ready;
    private TaskCompletionSource? _taken;

    /// <summary>No more frames will be written; what is pending is the last a receiver gets.</summary>
    public bool IsCompleted
    {
        get
        {
            lock (_gate)
            {
                return _completed;
            }
        }
    }

    /// <summary>True while nothing waits to be taken.</summary>
    public bool IsEmpty
    {
        get
        {
            lock (_gate)
            {
                return _pendingCount == 0;
            }
        }
    }

    public async ValueTask WriteAsync(ReadOnlyMemory<byte> frame, CancellationToken cancellationToken)
    {
        while (true)
        {
            Task taken;
            lock (_gate)
            {
                if (_completed)
                {
                    return;
                }

                if (_pending.WrittenCount < maxPendingBytes || _pendingCount == 0)
                {
                    if (_pendingCount > 0 && format == WireFormat.Json)
                    {
                        _pending.Write(","u8);
                    }

                    _pending.Write(frame.Span);
                    _pendingCount++;
                    _flushed = false;
                    return;
                }

                // A response's worth is waiting: let a receiver have it now, and wait until one does.
                Signal(ref _ready);
                taken = (_taken ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).Task;
            }

            await taken.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    public void Flush()
    {
        lock (_gate)
        {
            if (_pendingCount > 0)
            {
                _flushed = true;
                Signal(ref _ready);
            }
        }
    }

    /// <summary>The writer is done: receivers get what is pending, then nothing more.</summary>
    public void Complete(bool discardPending = false)
    {
        lock (_gate)
        {
            _completed = true;
            if (discardPending)
            {
                _pending.Clear();
                _pendingCount = 0;
            }

            Signal(ref _ready);
            Signal(ref _taken);
        }
    }

    /// <summary>
    /// Waits up to <paramref name="wait"/> for frames and takes them all as one array (its encoded bytes, including the
    /// brackets or the array header); null when the wait ran out, or the wire is completed with nothing pending.
    /// </summary>
    public async Task<byte[]?> TakeAsync(TimeSpan wait, CancellationToken cancellationToken)
    {
        var deadline = Environment.TickCount64 + (long)wait.TotalMilliseconds;
        while (true)
        {
            Task ready;
            lock (_gate)
            {
                if (_pendingCount > 0 && (_flushed || _completed || _pending.WrittenCount >= maxPendingBytes))
                {
                    return TakePending();
                }

                if (_completed)
                {
                    return null;
                }

                ready = (_ready ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).Task;
            }

            var remaining = deadline - Environment.TickCount64;
            if (remaining <= 0)
            {
                return null;
            }

            try
            {
                await ready.WaitAsync(TimeSpan.FromMilliseconds(remaining), cancellationToken).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                return null;
            }
        }
    }

    /// <summary>Waits until nothing is pending (a receiver took the last frames) or <paramref name="timeout"/> passes.</summary>
    public async Task WaitTakenAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        var deadline = Environment.TickCount64 + (long)timeout.TotalMilliseconds;
        while (true)
        {
            Task taken;
            lock (_gate)
            {
                if (_pendingCount == 0)
                {
                    return;
                }

                taken = (_taken ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).Task;
            }

            var remaining = deadline - Environment.TickCount64;
            if (remaining <= 0)
            {
                return;
            }

            try
            {
                await taken.WaitAsync(TimeSpan.FromMilliseconds(remaining), cancellationToken).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                return;
            }
        }
    }

    /// <summary>An empty array in this wire's format: what a poll that found nothing answers.</summary>
    public byte[] EmptyArray() => format == WireFormat.Json ? "[]"u8.ToArray() : [0x90];

    private byte[] TakePending()
    {
        var count = _pendingCount;
        var body = _pending.WrittenSpan;
        byte[] result;
        if (format == WireFormat.Json)
        {
            result = new byte[body.Length + 2];
            result[0] = (byte)'[';
            body.CopyTo(result.AsSpan(1));
            result[^1] = (byte)']';
        }
        else
        {
            var header = count < 16 ? 1 : count <= ushort.MaxValue ? 3 : 5;
            result = new byte[header + body.Length];
            if (header == 1)
            {
                result[0] = (byte)(0x90 | count);
            }
            else if (header == 3)
            {
                result[0] = 0xdc;
                BinaryPrimitives.WriteUInt16BigEndian(result.AsSpan(1), (ushort)count);
            }
            else
            {
                result[0] = 0xdd;
                BinaryPrimitives.WriteUInt32BigEndian(result.AsSpan(1), (uint)count);
            }

            body.CopyTo(result.AsSpan(header));
        }

        // A burst's buffer is not kept by an idle connection.
        if (_pending.Capacity > 16 * 1024)
        {
            _pending = new ArrayBufferWriter<byte>();
        }
        else
        {
            _pending.ResetWrittenCount();
        }

        _pendingCount = 0;
        _flushed = false;
        Signal(ref _taken);
        return result;
    }

    private static void Signal(ref TaskCompletionSource? source)
    {
        source?.TrySetResult();
        source = null;
    }
}
