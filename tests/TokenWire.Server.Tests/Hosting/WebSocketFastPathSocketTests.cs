using System.Diagnostics;
using System.Net.Sockets;
using System.Text;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using TokenWire.Protocol;
using TokenWire.Server.Connections;
using TokenWire.Server.Hosting;
using TokenWire.Server.Tests.Support;

namespace TokenWire.Server.Tests.Hosting;

/// <summary>
/// Which path serves what, on a real server process over raw TCP. The fast path's 101 carries no <c>Server</c>
/// header and Kestrel's does, which tells the two apart.
/// </summary>
[Collection(ServerProcessCollection.Name)]
public sealed class WebSocketFastPathSocketTests(ServerProcessFixture server)
{
    private const string Key = "dGhlIHNhbXBsZSBub25jZQ==";

    [Fact]
    public async Task An_upgrade_split_over_segments_with_a_frame_pipelined_after_it_is_served_by_the_fast_path()
    {
        using var client = await ConnectAsync(server.Port);
        var request = Encoding.ASCII.GetBytes(Upgrade());
        byte[] ping = [0x89, 0x82, 1, 2, 3, 4, (byte)('h' ^ 1), (byte)('i' ^ 2)]; // masked ping "hi"

        // Three writes (no Nagle): the request line, most of the headers, then the rest with the ping right behind it.
        await client.Stream.WriteAsync(request.AsMemory(0, 10));
        await client.Stream.WriteAsync(request.AsMemory(10, request.Length - 30));
        await client.Stream.WriteAsync(request[(request.Length - 20)..].Concat(ping).ToArray());

        var response = await client.ReadHeadAsync().Within();
        Assert.StartsWith("HTTP/1.1 101 Switching Protocols\r\n", response, StringComparison.Ordinal);
        Assert.Contains("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n", response, StringComparison.Ordinal);
        Assert.DoesNotContain("Server:", response, StringComparison.Ordinal);

        var (connected, pong) = await ReadConnectedAndPongAsync(client).Within();
        Assert.Contains("\"action\":4", connected, StringComparison.Ordinal);
        Assert.Equal("hi", pong);
    }

    [Fact]
    public async Task An_upgrade_with_an_oversized_header_block_is_declined_and_served_by_kestrel()
    {
        using var client = await ConnectAsync(server.Port);
        var padding = $"X-Padding: {new string('a', 9000)}\r\n";
        await client.Stream.WriteAsync(Encoding.ASCII.GetBytes(Upgrade(padding)));

        var response = await client.ReadHeadAsync().Within();
        Assert.StartsWith("HTTP/1.1 101 Switching Protocols\r\n", response, StringComparison.Ordinal);
        Assert.Contains("Server: Kestrel\r\n", response, StringComparison.Ordinal);

        var (connected, _) = await ReadConnectedAndPongAsync(client, expectPong: false).Within();
        Assert.Contains("\"action\":4", connected, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_plain_get_of_the_root_is_served_by_kestrel()
    {
        using var client = await ConnectAsync(server.Port);
        await client.Stream.WriteAsync(Encoding.ASCII.GetBytes("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"));

        var response = await client.ReadHeadAsync().Within();
        Assert.StartsWith("HTTP/1.1 200 OK\r\n", response, StringComparison.Ordinal);
        Assert.Contains("Server: Kestrel\r\n", response, StringComparison.Ordinal);
    }

    [Fact]
    public async Task With_the_fast_path_off_kestrel_serves_every_upgrade()
    {
        await using var off = await ServerProcess.StartAsync(["--TokenWire:Agent:Enabled=false", "--TokenWire:Connection:WebSocketFastPath=false"]);
        using var client = await ConnectAsync(off.Port);
        await client.Stream.WriteAsync(Encoding.ASCII.GetBytes(Upgrade()));

        var response = await client.ReadHeadAsync().Within();
        Assert.StartsWith("HTTP/1.1 101 Switching Protocols\r\n", response, StringComparison.Ordinal);
        Assert.Contains("Server: Kestrel\r\n", response, StringComparison.Ordinal);
        var (connected, _) = await ReadConnectedAndPongAsync(client, expectPong: false).Within();
        Assert.Contains("\"action\":4", connected, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_client_that_never_answers_the_servers_close_is_cut_off_after_the_close_handshake_timeout()
    {
        // In process, to close the transport from outside its read loop. The fast path's idle receive carries no
        // cancellation token, so only the transport's timed stop can end it when the client's Close never comes.
        await using var inProcess = await InProcessServer.StartAsync(
            services: s => s.Configure<KestrelServerOptions>(k => k.ConfigureEndpointDefaults(l => l.UseTokenWireWebSocketFastPath())));
        using var client = await ConnectAsync(inProcess.BaseUri.Port);
        await client.Stream.WriteAsync(Encoding.ASCII.GetBytes(Upgrade()));
        var response = await client.ReadHeadAsync().Within();
        Assert.DoesNotContain("Server:", response, StringComparison.Ordinal);
        await ReadConnectedAndPongAsync(client, expectPong: false).Within();
        var transport = inProcess.Services.GetRequiredService<LiveConnections>().ForApp(DevelopmentApp.AppId).Single().Transport!;

        var closing = Stopwatch.StartNew();
        Assert.True(transport.SendAndClose(new ProtocolMessage(ProtocolAction.Disconnected)));
        var opcodes = new List<int>();
        await Assert.ThrowsAsync<IOException>(async () =>
        {
            while (true)
            {
                opcodes.Add((await client.ReadFrameAsync()).Opcode);
            }
        }).Within();

        // DISCONNECTED, the server's Close, then nothing until the server gave up on the client's Close and hung up.
        Assert.Equal([0x1, 0x8], opcodes);
        Assert.InRange(closing.Elapsed, TimeSpan.FromSeconds(4), TimeSpan.FromSeconds(25));
    }

    private static string Upgrade(string extra = "") =>
        $"GET /?key={Uri.EscapeDataString(ServerProcessFixture.RootKey)}&format=json&v=6 HTTP/1.1\r\n"
        + "Host: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
        + $"Sec-WebSocket-Key: {Key}\r\n{extra}\r\n";

    private static async Task<RawClient> ConnectAsync(int port)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        await socket.ConnectAsync("127.0.0.1", port).Within();
        return new RawClient(socket);
    }

    /// <summary>Server frames until the CONNECTED text frame and, when asked for, a pong.</summary>
    private static async Task<(string Connected, string? Pong)> ReadConnectedAndPongAsync(RawClient client, bool expectPong = true)
    {
        string? connected = null;
        string? pong = null;
        while (connected is null || (expectPong && pong is null))
        {
            var (opcode, payload) = await client.ReadFrameAsync();
            switch (opcode)
            {
                case 0x1:
                    connected ??= Encoding.UTF8.GetString(payload);
                    break;
                case 0xA:
                    pong = Encoding.ASCII.GetString(payload);
                    break;
            }
        }

        return (connected, pong);
    }

    /// <summary>A TCP client reading an HTTP response head and then unmasked server frames.</summary>
    private sealed class RawClient(Socket socket) : IDisposable
    {
        private readonly List<byte> _pending = [];

        public NetworkStream Stream { get; } = new(socket, ownsSocket: true);

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
}
