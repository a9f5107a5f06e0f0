using System.Net.Sockets;
using System.Text;
using TokenWire.Testing;

namespace TokenWire.Server.Tests.Support;

/// <summary>
/// A WebSocket client on a bare TCP socket: it writes the upgrade request and frames byte by byte and reads the
/// response head and the server's (unmasked) frames, pings included — which no WebSocket library shows or leaves
/// unanswered. For tests of what the server does on the wire.
/// </summary>
internal sealed class RawWebSocketClient(Socket socket) : IDisposable
{
    /// <summary>The RFC 6455 sample key; its accept value is <c>s3pPLMBiTxaQ9kYGzzhZRbK+xOo=</c>.</summary>
    public const string Key = "dGhlIHNhbXBsZSBub25jZQ==";

    private readonly List<byte> _pending = [];

    public NetworkStream Stream { get; } = new(socket, ownsSocket: true);

    public static async Task<RawWebSocketClient> ConnectAsync(int port)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        await socket.ConnectAsync("127.0.0.1", port).Within();
        return new RawWebSocketClient(socket);
    }

    /// <summary>A realtime upgrade request for <paramref name="key"/> in JSON, with <paramref name="query"/> appended and <paramref name="extraHeaders"/> (each ending in CRLF).</summary>
    public static string Upgrade(string key, string extraHeaders = "", string query = "") =>
        $"GET /?key={Uri.EscapeDataString(key)}&format=json&v=6{query} HTTP/1.1\r\n"
        + "Host: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
        + $"Sec-WebSocket-Key: {Key}\r\n{extraHeaders}\r\n";

    public async Task<string> ReadHeadAsync()
    {
        while (true)
        {
            var text = Encoding.ASCII.GetString(_pending.ToArray());
            var end = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
            if (end >= 0)
            {
                _pending.RemoveRange(0, end + 4);
                return text[..(end + 4)];
            }

            await FillAsync();
        }
    }

    /// <summary>The next frame from the server; an <see cref="IOException"/> once the server has closed the connection.</summary>
    public async Task<(int Opcode, byte[] Payload)> ReadFrameAsync()
    {
        await EnsureAsync(2);
        var opcode = _pending[0] & 0x0F;
        var length = _pending[1] & 0x7F;
        var headerLength = 2;
        if (length == 126)
        {
            await EnsureAsync(4);
            length = (_pending[2] << 8) | _pending[3];
            headerLength = 4;
        }

        await EnsureAsync(headerLength + length);
        var payload = _pending.GetRange(headerLength, length).ToArray();
        _pending.RemoveRange(0, headerLength + length);
        return (opcode, payload);
    }

    /// <summary>Sends one masked frame (a client's frames must be) of at most 125 bytes.</summary>
    public async Task SendFrameAsync(int opcode, byte[] payload)
    {
        byte[] mask = [0x12, 0x34, 0x56, 0x78];
        var frame = new byte[6 + payload.Length];
        frame[0] = (byte)(0x80 | opcode);
        frame[1] = (byte)(0x80 | payload.Length);
        mask.CopyTo(frame, 2);
        for (var i = 0; i < payload.Length; i++)
        {
            frame[6 + i] = (byte)(payload[i] ^ mask[i % 4]);
        }

        await Stream.WriteAsync(frame);
    }

    public void Dispose() => Stream.Dispose();

    private async Task EnsureAsync(int count)
    {
        while (_pending.Count < count)
        {
            await FillAsync();
        }
    }

    private async Task FillAsync()
    {
        var buffer = new byte[4096];
        var read = await Stream.ReadAsync(buffer);
        if (read == 0)
        {
            throw new IOException("The server closed the connection");
        }

        _pending.AddRange(buffer.AsSpan(0, read));
    }
}
