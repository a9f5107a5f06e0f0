using System.Buffers;
using System.Net.WebSockets;
using System.Web;
using TokenWire.Protocol;

namespace TokenWire.Testing;

/// <summary>
/// A realtime connection at the frame level, with no SDK in between: what it sends goes out as given, and every frame
/// the server sends is decoded with the connection's codec and recorded in arrival order, so a test can assert on the
/// order of ATTACHED, MESSAGE, ACK and NACK frames. A background loop receives until the server closes the socket, and
/// answers its close frame as browsers and Node's ws do.
/// </summary>
public sealed class RawRealtimeSocket : IAsyncDisposable
{
    private readonly ClientWebSocket _socket;
    private readonly List<ProtocolMessage> _frames = [];
    private readonly Task _receiving;
    private readonly CancellationTokenSource _stop = new();

    private RawRealtimeSocket(ClientWebSocket socket, IProtocolCodec codec)
    {
        _socket = socket;
        Codec = codec;
        _receiving = Task.Run(ReceiveLoopAsync);
    }

    public IProtocolCodec Codec { get; }

    /// <summary>Every frame received so far, in order.</summary>
    public IReadOnlyList<ProtocolMessage> Frames
    {
        get
        {
            lock (_frames)
            {
                return [.. _frames];
            }
        }
    }

    /// <summary>Completes when the server has closed the socket (or the loop failed).</summary>
    public Task Closed => _receiving;

    public WebSocketCloseStatus? CloseStatus => _socket.CloseStatus;

    public static async Task<RawRealtimeSocket> ConnectAsync(Uri uri, CancellationToken cancellationToken = default)
    {
        var format = HttpUtility.ParseQueryString(uri.Query)["format"] == "msgpack" ? WireFormat.MessagePack : WireFormat.Json;
        var socket = new ClientWebSocket();
        try
        {
            await socket.ConnectAsync(uri, cancellationToken).WaitAsync(Wait.Timeout, cancellationToken);
        }
        catch
        {
            socket.Dispose();
            throw;
        }

        return new RawRealtimeSocket(socket, ProtocolCodecs.For(format));
    }

    public Task SendAsync(ProtocolMessage message) =>
        _socket.SendAsync(Codec.Encode(message), Codec == ProtocolCodecs.Json ? WebSocketMessageType.Text : WebSocketMessageType.Binary, endOfMessage: true, _stop.Token).WaitAsync(Wait.Timeout);

    /// <summary>Sends <paramref name="bytes"/> as one frame of <paramref name="type"/>, whatever they contain (malformed input).</summary>
    public Task SendRawAsync(ReadOnlyMemory<byte> bytes, WebSocketMessageType type) =>
        _socket.SendAsync(bytes, type, endOfMessage: true, _stop.Token).AsTask().WaitAsync(Wait.Timeout);

    /// <summary>The first recorded frame matching <paramref name="match"/>, waiting for it if it has not arrived.</summary>
    public async Task<ProtocolMessage> WaitForAsync(Func<ProtocolMessage, bool> match, string what)
    {
        ProtocolMessage? found = null;
        await Wait.Eventually(what, () => (found = Frames.FirstOrDefault(match)) is not null || _receiving.IsCompleted);
        return found ?? Frames.FirstOrDefault(match) ?? throw new InvalidOperationException($"The socket closed before {what}; frames: {string.Join(" | ", Frames)}");
    }

    /// <summary>Waits for a frame with <paramref name="action"/> (and on <paramref name="channel"/>, when given).</summary>
    public Task<ProtocolMessage> WaitForAsync(ProtocolAction action, string? channel = null) =>
        WaitForAsync(f => f.Action == action && (channel is null || f.Channel == channel), channel is null ? action.ToString() : $"{action} on {channel}");

    public async ValueTask DisposeAsync()
    {
        if (_socket.State == WebSocketState.Open)
        {
            try
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
                await _socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, timeout.Token);
            }
            catch (Exception ex) when (ex is WebSocketException or OperationCanceledException)
            {
                // The server went first; nothing more to say.
            }
        }

        await _stop.CancelAsync();
        try
        {
            await _receiving.WaitAsync(TimeSpan.FromSeconds(5));
        }
        catch (Exception ex) when (ex is TimeoutException or OperationCanceledException or WebSocketException)
        {
        }

        _socket.Dispose();
        _stop.Dispose();
    }

    /// <summary>Completes the closing handshake the server began, as browsers and Node's <c>ws</c> do.</summary>
    private async Task AnswerCloseAsync()
    {
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            await _socket.CloseOutputAsync(_socket.CloseStatus ?? WebSocketCloseStatus.NormalClosure, null, timeout.Token);
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException)
        {
            // The server went away first: nothing to answer.
        }
    }

    private async Task ReceiveLoopAsync()
    {
        var buffer = new ArrayBufferWriter<byte>(4096);
        while (true)
        {
            buffer.ResetWrittenCount();
            ValueWebSocketReceiveResult result;
            do
            {
                result = await _socket.ReceiveAsync(buffer.GetMemory(4096), _stop.Token);
                buffer.Advance(result.Count);
            }
            while (!result.EndOfMessage);

            if (result.MessageType == WebSocketMessageType.Close)
            {
                await AnswerCloseAsync();
                return;
            }

            var frame = Codec.Decode(buffer.WrittenMemory.ToArray());
            lock (_frames)
            {
                _frames.Add(frame);
            }
        }
    }
}
