using System.Net.WebSockets;
using TokenWire.Protocol;

namespace TokenWire.LoadTest;

/// <summary>
/// A minimal Ably realtime client connection (reference §1.1, §4.1): one <see cref="FrameSocket"/> in JSON or
/// MessagePack, the CONNECTED handshake and ATTACH. After that the scenario reads and writes <see cref="Frames"/>.
/// </summary>
public sealed class AblySocket
{
    private AblySocket(FrameSocket frames, WireFormat format)
    {
        Frames = frames;
        Format = format;
        Codec = ProtocolCodecs.For(format);
    }

    public FrameSocket Frames { get; }

    public WireFormat Format { get; }

    public IProtocolCodec Codec { get; }

    public string ConnectionId { get; private set; } = string.Empty;

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

        // The server pings every 15 s and the runtime answers; the client adds no keep-alive traffic of its own.
        var frames = await FrameSocket.ConnectAsync(uri, format == WireFormat.MessagePack ? WebSocketMessageType.Binary : WebSocketMessageType.Text, cancellationToken);
        var connection = new AblySocket(frames, format);
        try
        {
            var connected = await connection.ReceiveUntilAsync(ProtocolAction.Connected, null, cancellationToken);
            connection.ConnectionId = connected.ConnectionId ?? string.Empty;
            return connection;
        }
        catch
        {
            frames.Dispose();
            throw;
        }
    }

    /// <summary>Sends ATTACH and waits for the channel's ATTACHED.</summary>
    public async Task AttachAsync(string channel, CancellationToken cancellationToken)
    {
        await Frames.SendAsync(Codec.Encode(new ProtocolMessage(ProtocolAction.Attach) { Channel = channel }), cancellationToken);
        await ReceiveUntilAsync(ProtocolAction.Attached, channel, cancellationToken);
    }

    private async Task<ProtocolMessage> ReceiveUntilAsync(ProtocolAction wanted, string? channel, CancellationToken cancellationToken)
    {
        while (true)
        {
            var frame = await Frames.ReceiveFrameAsync(cancellationToken);
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
