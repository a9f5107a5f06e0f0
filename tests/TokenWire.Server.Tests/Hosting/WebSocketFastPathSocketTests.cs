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
    [Fact]
    public async Task An_upgrade_split_over_segments_with_a_frame_pipelined_after_it_is_served_by_the_fast_path()
    {
        using var client = await RawWebSocketClient.ConnectAsync(server.Port);
        var request = Encoding.ASCII.GetBytes(RawWebSocketClient.Upgrade(ServerProcessFixture.RootKey));
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
        using var client = await RawWebSocketClient.ConnectAsync(server.Port);
        var padding = $"X-Padding: {new string('a', 9000)}\r\n";
        await client.Stream.WriteAsync(Encoding.ASCII.GetBytes(RawWebSocketClient.Upgrade(ServerProcessFixture.RootKey, padding)));

        var response = await client.ReadHeadAsync().Within();
        Assert.StartsWith("HTTP/1.1 101 Switching Protocols\r\n", response, StringComparison.Ordinal);
        Assert.Contains("Server: Kestrel\r\n", response, StringComparison.Ordinal);

        var (connected, _) = await ReadConnectedAndPongAsync(client, expectPong: false).Within();
        Assert.Contains("\"action\":4", connected, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_plain_get_of_the_root_is_served_by_kestrel()
    {
        using var client = await RawWebSocketClient.ConnectAsync(server.Port);
        await client.Stream.WriteAsync(Encoding.ASCII.GetBytes("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"));

        var response = await client.ReadHeadAsync().Within();
        Assert.StartsWith("HTTP/1.1 200 OK\r\n", response, StringComparison.Ordinal);
        Assert.Contains("Server: Kestrel\r\n", response, StringComparison.Ordinal);
    }

    [Fact]
    public async Task With_the_fast_path_off_kestrel_serves_every_upgrade()
    {
        await using var off = await ServerProcess.StartAsync(["--TokenWire:Agent:Enabled=false", "--TokenWire:Connection:WebSocketFastPath=false"]);
        using var client = await RawWebSocketClient.ConnectAsync(off.Port);
        await client.Stream.WriteAsync(Encoding.ASCII.GetBytes(RawWebSocketClient.Upgrade(ServerProcessFixture.RootKey)));

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
        using var client = await RawWebSocketClient.ConnectAsync(inProcess.BaseUri.Port);
        await client.Stream.WriteAsync(Encoding.ASCII.GetBytes(RawWebSocketClient.Upgrade(ServerProcessFixture.RootKey)));
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

    /// <summary>Server frames until the CONNECTED text frame and, when asked for, a pong.</summary>
    private static async Task<(string Connected, string? Pong)> ReadConnectedAndPongAsync(RawWebSocketClient client, bool expectPong = true)
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
}
