using System.Net.WebSockets;
using System.Runtime.CompilerServices;

namespace TokenWire.LoadTest;

/// <summary>
/// One client WebSocket, message at a time into a reused buffer, counting the bytes it puts on and takes off the wire
/// (payload plus WebSocket frame header; TCP/IP headers are not counted). Not thread-safe: one reader and one writer
/// at a time, as <see cref="ClientWebSocket"/> requires; each counter is touched by its side only.
/// </summary>
public sealed class FrameSocket : IDisposable
{
    private readonly ClientWebSocket _socket;
    private readonly WebSocketMessageType _sendType;
    private byte[] _buffer = new byte[8192];
    private Func<long>? _readAllowance;
    private long _throttledBytes;

    private FrameSocket(ClientWebSocket socket, WebSocketMessageType sendType)
    {
        _socket = socket;
        _sendType = sendType;
    }

    /// <summary>A throttled reader's largest read: small, so what it has taken off the socket stays close to its allowance.</summary>
    private const int ThrottledReadBytes = 1024;

    private static readonly TimeSpan ThrottlePoll = TimeSpan.FromMilliseconds(5);

    public WebSocketState State => _socket.State;

    /// <summary>Bytes of the messages received so far, each with its (unmasked, server-to-client) frame header.</summary>
    public long WireBytesReceived { get; private set; }

    public long MessagesReceived { get; private set; }

    /// <summary>Bytes of the messages sent so far, each with its (masked, client-to-server) frame header.</summary>
    public long WireBytesSent { get; private set; }

    public static async Task<FrameSocket> ConnectAsync(Uri uri, WebSocketMessageType sendType, CancellationToken cancellationToken)
    {
        var socket = new ClientWebSocket();
        // No client pings: the load generator adds no traffic of its own beyond the scenario's.
        socket.Options.KeepAliveInterval = TimeSpan.Zero;
        try
        {
            await socket.ConnectAsync(uri, cancellationToken);
            return new FrameSocket(socket, sendType);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Makes this a slow reader (<c>--slow</c>): from now on it asks the socket for at most 1 KiB at a time, and after
    /// each read waits until <paramref name="allowance"/> (bytes it may have read since this call) covers what it
    /// read. The kernel's receive buffer then fills, TCP's window closes and the server's sends stall — the way a
    /// slow network or a busy client looks from the server.
    /// </summary>
    public void ThrottleReads(Func<long> allowance)
    {
        _readAllowance = allowance;
        _throttledBytes = 0;
    }

    /// <summary>Size of a WebSocket frame header (RFC 6455 §5.2) for a payload of <paramref name="length"/> bytes.</summary>
    public static int HeaderBytes(int length, bool masked) => (length < 126 ? 2 : length <= ushort.MaxValue ? 4 : 10) + (masked ? 4 : 0);

    public ValueTask SendAsync(ReadOnlyMemory<byte> message, CancellationToken cancellationToken)
    {
        WireBytesSent += message.Length + HeaderBytes(message.Length, masked: true);
        return _socket.SendAsync(message, _sendType, endOfMessage: true, cancellationToken);
    }

    /// <summary>The next whole message, valid until the next call; empty once the server has closed the socket.</summary>
    /// <remarks>Pooled: almost every receive completes later, and each would otherwise box this method's state anew.</remarks>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<ReadOnlyMemory<byte>> ReceiveFrameAsync(CancellationToken cancellationToken)
    {
        var length = 0;
        while (true)
        {
            if (length == _buffer.Length)
            {
                Array.Resize(ref _buffer, _buffer.Length * 2);
            }

            var free = _buffer.AsMemory(length);
            var result = await _socket.ReceiveAsync(_readAllowance is null ? free : free[..Math.Min(free.Length, ThrottledReadBytes)], cancellationToken);
            if (result.MessageType == WebSocketMessageType.Close)
            {
                return ReadOnlyMemory<byte>.Empty;
            }

            if (_readAllowance is { } allowance)
            {
                _throttledBytes += result.Count;
                while (_throttledBytes > allowance())
                {
                    await Task.Delay(ThrottlePoll, cancellationToken);
                }
            }

            length += result.Count;
            if (result.EndOfMessage)
            {
                WireBytesReceived += length + HeaderBytes(length, masked: false);
                MessagesReceived++;
                return _buffer.AsMemory(0, length);
            }
        }
    }

    /// <summary>Sends <paramref name="goodbye"/> if not empty (Ably's CLOSE), then closes the socket, within the timeout.</summary>
    public async Task CloseAsync(ReadOnlyMemory<byte> goodbye, TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            if (_socket.State == WebSocketState.Open)
            {
                if (!goodbye.IsEmpty)
                {
                    await SendAsync(goodbye, cts.Token);
                }

                await _socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, cts.Token);
            }
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or ObjectDisposedException)
        {
        }
        finally
        {
            _socket.Abort();
        }
    }

    public void Abort() => _socket.Abort();

    public void Dispose() => _socket.Dispose();
}
