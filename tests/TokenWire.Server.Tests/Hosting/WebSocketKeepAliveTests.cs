using System.Text;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using TokenWire.Server.Hosting;
using TokenWire.Server.Tests.Support;

namespace TokenWire.Server.Tests.Hosting;

/// <summary>
/// The fast path's sockets have no keep-alive timer: the node's heartbeat wheel pings them and drops a peer that
/// answers nothing. maxIdleInterval 1 s here: a tick (and a ping to a quiet socket) every 0.5 s, dropped after 2 s.
/// </summary>
public sealed class WebSocketKeepAliveTests : IAsyncLifetime
{
    private const int Ping = 0x9;
    private const int Pong = 0xA;
    private const int Text = 0x1;

    private InProcessServer? _server;

    private InProcessServer Server => _server!;

    public async Task InitializeAsync() =>
        _server = await InProcessServer.StartAsync(
            new Dictionary<string, string?> { ["TokenWire:Connection:MaxIdleInterval"] = "00:00:01", ["TokenWire:Agent:Enabled"] = "false" },
            services: s => s.Configure<KestrelServerOptions>(k => k.ConfigureEndpointDefaults(l => l.UseTokenWireWebSocketFastPath())));

    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }

    [Fact]
    public async Task A_peer_that_answers_no_ping_is_dropped_after_the_timeout()
    {
        using var client = await ConnectAsync();

        // Pings keep coming, unanswered, until the server gives up: the connection ends without a close frame (an
        // abort, as for a dead peer: the connection stays resumable).
        var opcodes = new List<int>();
        await Assert.ThrowsAsync<IOException>(async () =>
        {
            while (true)
            {
                opcodes.Add((await client.ReadFrameAsync()).Opcode);
            }
        }).Within();

        Assert.Contains(Ping, opcodes);
        Assert.DoesNotContain(0x8, opcodes);
    }

    [Fact]
    public async Task A_live_idle_peer_that_answers_pings_is_kept()
    {
        using var client = await ConnectAsync();

        // Eight pings at 0.5 s span 3.5 s, well past the 2 s after which an unanswering peer is dropped (at most five
        // pings reach it first); each is answered, as any WebSocket client does. Dropped, the read throws.
        await AnswerPingsAsync(client, until: (pings, _) => pings >= 8).Within();
    }

    [Fact]
    public async Task A_heartbeats_client_still_gets_heartbeats_and_pings()
    {
        using var client = await ConnectAsync("&heartbeats=true");

        // HEARTBEATs while the server has nothing else to send, pings beside them (the client may not see the former).
        await AnswerPingsAsync(client, until: (pings, heartbeats) => heartbeats >= 2 && pings >= 2).Within();
    }

    private async Task<RawWebSocketClient> ConnectAsync(string query = "")
    {
        var client = await RawWebSocketClient.ConnectAsync(Server.BaseUri.Port);
        await client.Stream.WriteAsync(Encoding.ASCII.GetBytes(RawWebSocketClient.Upgrade(InProcessServer.RootKey, query: query)));
        var head = await client.ReadHeadAsync().Within();
        Assert.DoesNotContain("Server:", head, StringComparison.Ordinal); // the fast path's 101
        return client;
    }

    /// <summary>Reads frames, answering each ping with its pong, until <paramref name="until"/>(pings, HEARTBEATs) holds.</summary>
    private static async Task AnswerPingsAsync(RawWebSocketClient client, Func<int, int, bool> until)
    {
        var (pings, heartbeats) = (0, 0);
        while (!until(pings, heartbeats))
        {
            var (opcode, payload) = await client.ReadFrameAsync();
            if (opcode == Ping)
            {
                pings++;
                await client.SendFrameAsync(Pong, payload);
            }
            else if (opcode == Text && Encoding.UTF8.GetString(payload).Contains("\"action\":0", StringComparison.Ordinal))
            {
                heartbeats++;
            }
        }
    }
}
