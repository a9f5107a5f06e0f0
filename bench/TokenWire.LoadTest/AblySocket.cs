using System.Net.WebSockets;
using TokenWire.Protocol;

namespace TokenWire.LoadTest;

/// <summary>
/// A minimal Ably realtime client connection (reference §1.1, §4.1): one WebSocket in JSON or MessagePack, the
/// CONNECTED handshake, ATTACH, and frame-at-a-time receive into a reused buffer. Not thread-safe: one reader and
/// one writer at a time, as <see cref="ClientWebSocket"/> requires.
/// </summary>
public sealed class AblySocket : IDisposable
{
    private readonly ClientWebSocket _socket;
    private byte[] _buffer = new byte[8192];

    private AblySocket(ClientWebSocket socket, WireFormat format)
    {
        _socket = socket;
        Format = format;
        Codec = ProtocolCodecs.For(format);
    }

    public WireFormat Format { get; }

    public IProtocolCodec Codec { get; }

    public string ConnectionId { get; private set; } = string.Empty;

    public WebSocketState State => _socket.State;

    /// <summary>Opens the socket and waits for CONNECTED; an ERROR or DISCONNECTED instead throws.</summary>
    public static async Task<AblySocket> ConnectAsync(Uri server, string key, WireFormat format, CancellationToken cancellationToken)
    {
        var formatName = format == WireFormat.MessagePack ? "msgpack" : "json";
        var uri = new UriBuilder(server)
        {
            Scheme = server.Scheme == "https" || server.Scheme == "wss" ? "wss" : "ws",
            Path = "/",
            Query = $"key={Uri.EscapeDataString(key)}&format={formatName}&heartbeats=true&v=6&agent=tokenwire-loadtest",
        }.Uri;
        var socket = new ClientWebSocket();
        // The server pings every 15 s and the runtime answers; the client adds no keep-alive traffic of its own.
        socket.Options.KeepAliveInterval = TimeSpan.Zero;
        var connection = new AblySocket(socket, format);
        try
        {
            await socket.ConnectAsync(uri, cancellationToken);
            var connected = await connection.ReceiveUntilAsync(ProtocolAction.Connected, null, cancellationToken);
            connection.ConnectionId = connected.ConnectionId ?? string.Empty;
            return connection;
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    /// <summary>Sends ATTACH and waits for the channel's ATTACHED.</summary>
    public async Task AttachAsync(string channel, CancellationToken cancellationToken)
    {
        await SendAsync(new ProtocolMessage(ProtocolAction.Attach) { Channel = channel }, cancellationToken);
        await ReceiveUntilAsync(ProtocolAction.Attached, channel, cancellationToken);
    }

    public ValueTask SendAsync(ProtocolMessage message, CancellationToken cancellationToken) =>
        SendAsync(Codec.Encode(message), cancellationToken);

    public ValueTask SendAsync(ReadOnlyMemory<byte> frame, CancellationToken cancellationToken) =>
        _socket.SendAsync(frame, Format == WireFormat.MessagePack ? WebSocketMessageType.Binary : WebSocketMessageType.Text, endOfMessage: true, cancellationToken);

    /// <summary>The next whole frame, valid until the next call; empty once the server has closed the socket.</summary>
    public async ValueTask<ReadOnlyMemory<byte>> ReceiveFrameAsync(CancellationToken cancellationToken)
    {
        var length = 0;
        while (true)
        {
            if (length == _buffer.Length)
            {
                Array.Resize(ref _buffer, _buffer.Length * 2);
            }

            var result = await _socket.ReceiveAsync(_buffer.AsMemory(length), cancellationToken);
            if (result.MessageType == WebSocketMessageType.Close)
            {
                return ReadOnlyMemory<byte>.Empty;
            }

            length += result.Count;
            if (result.EndOfMessage)
            {
                return _buffer.AsMemory(0, length);
            }
        }
    }

    /// <summary>Sends CLOSE (so the server forgets the connection instead of keeping it resumable), then closes the socket.</summary>
    public async Task CloseAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            if (_socket.State == WebSocketState.Open)
            {
                await SendAsync(new ProtocolMessage(ProtocolAction.Close), cts.Token);
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

    private async Task<ProtocolMessage> ReceiveUntilAsync(ProtocolAction wanted, string? channel, CancellationToken cancellationToken)
    {
        while (true)
        {
            var frame = await ReceiveFrameAsync(cancellationToken);
            if (frame.IsEmpty)
            {
                throw new InvalidOperationException($"The server closed the socket while waiting for {wanted}");
            }

            var message = Codec.Decode(frame);
            if (message.Action == wanted && (channel is null || message.Channel == channel))
            {
                return message;
            }

            if (message.Action is ProtocolAction.Error or ProtocolAction.Disconnected or ProtocolAction.Detached)
            {
                throw new InvalidOperationException($"Waiting for {wanted}, got {message.Action}: {message.Error?.Code} {message.Error?.Message}");
            }
        }
    }
}
