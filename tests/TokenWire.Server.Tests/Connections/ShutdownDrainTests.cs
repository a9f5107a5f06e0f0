using System.Net.WebSockets;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using TokenWire.Protocol;
using TokenWire.Server.Connections;

namespace TokenWire.Server.Tests.Connections;

/// <summary>
/// A node that stops (SIGTERM, or its host stopped) drains: every realtime client is sent DISCONNECTED 80003 and a
/// normal close frame, the host stops only after that (or after <c>ShutdownDrainTimeout</c>), and connections that
/// arrive while it drains are refused the same way. The SDK reconnects on such a DISCONNECTED at once and resumes.
/// </summary>
public sealed class ShutdownDrainTests
{
    private static readonly string RootKey = Uri.EscapeDataString(InProcessServer.RootKey);

    [Fact]
    public async Task Stopping_the_host_sends_each_client_DISCONNECTED_80003_then_a_normal_close_before_it_stops()
    {
        await using var server = await InProcessServer.StartAsync();
        var channel = Wait.UniqueChannel("drain");
        await using var json = await ConnectedAsync(server, "json");
        await using var msgpack = await ConnectedAsync(server, "msgpack");
        await msgpack.SendAsync(new ProtocolMessage(ProtocolAction.Attach) { Channel = channel });
        await msgpack.WaitForAsync(ProtocolAction.Attached, channel);

        await server.StopAsync().Within();

        // Recorded before the clients answered the close, which the stop waited for.
        foreach (var socket in (RawRealtimeSocket[])[json, msgpack])
        {
            AssertShuttingDown(socket.Frames[^1]);
            await socket.Closed.Within();
            Assert.Equal(WebSocketCloseStatus.NormalClosure, socket.CloseStatus);
        }
    }

    [Fact]
    public async Task A_connection_made_after_the_host_began_stopping_is_served_while_the_server_still_accepts_and_drained_with_the_others()
    {
        // Refusing it would cost an ably-js client its disconnectedRetryTimeout (15 s): a connecting client does not
        // retry at once. Served and then drained, it reconnects at once — by then to a node that is not stopping.
        await using var server = await InProcessServer.StartAsync();
        server.Services.GetRequiredService<IHostApplicationLifetime>().StopApplication();
        await using var socket = await server.ConnectAsync($"key={RootKey}&format=json&v=6");
        Assert.Equal(ProtocolAction.Connected, (await socket.WaitForAsync(_ => true, "the first frame")).Action);

        await server.StopAsync().Within();

        AssertShuttingDown(socket.Frames[^1]);
        await socket.Closed.Within();
        Assert.Equal(WebSocketCloseStatus.NormalClosure, socket.CloseStatus);
    }

    [Fact]
    public async Task Once_the_server_asks_its_connections_to_close_they_are_drained_and_a_connection_arriving_then_is_refused_the_same_way()
    {
        // Kestrel raises the notice when it has stopped accepting; here a test double raises it on request.
        using var drain = new CancellationTokenSource();
        await using var server = await InProcessServer.StartAsync(middleware: app => app.Use((context, next) =>
        {
            context.Features.Set<IConnectionLifetimeNotificationFeature>(new CloseNotice(drain.Token));
            return next(context);
        }));
        await using var connected = await ConnectedAsync(server, "msgpack");

        await drain.CancelAsync();

        await connected.Closed.Within();
        AssertShuttingDown(connected.Frames[^1]);
        Assert.Equal(WebSocketCloseStatus.NormalClosure, connected.CloseStatus);

        await using var late = await server.ConnectAsync($"key={RootKey}&format=json&v=6");
        await late.Closed.Within();
        AssertShuttingDown(Assert.Single(late.Frames));
        Assert.Equal(WebSocketCloseStatus.NormalClosure, late.CloseStatus);
    }

    [Fact]
    public async Task A_client_that_cannot_be_drained_in_time_is_aborted_after_ShutdownDrainTimeout_and_the_host_stops()
    {
        // One message a second to each connection: the subscriber's writer has minutes of backlog to pace out, and its
        // DISCONNECTED waits behind it. Without the drain timeout the stop would wait for the host's ShutdownTimeout,
        // ten minutes here.
        const int Messages = 200;
        await using var server = await InProcessServer.StartAsync(
            new Dictionary<string, string?>
            {
                ["TokenWire:Limits:MaxOutboundRate"] = "1",
                ["TokenWire:Limits:OutboundQueueBytes"] = (256 * 1024).ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["TokenWire:ShutdownDrainTimeout"] = "00:00:00.2",
            },
            services => services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromMinutes(10)));
        var channel = Wait.UniqueChannel("drain-timeout");
        await using var subscriber = await ConnectedAsync(server, "json");
        await subscriber.SendAsync(new ProtocolMessage(ProtocolAction.Attach) { Channel = channel });
        await subscriber.WaitForAsync(ProtocolAction.Attached, channel);
        await using var publisher = await server.ConnectAsync($"key={RootKey}&format=json&echo=false&v=6");
        await publisher.WaitForAsync(ProtocolAction.Connected);
        for (var i = 0; i < Messages; i++)
        {
            await publisher.SendAsync(new ProtocolMessage(ProtocolAction.Message)
            {
                Channel = channel,
                MsgSerial = i,
                Messages = [new Message { Name = "m", Data = MessageData.FromText(new string('x', 1000)) }],
            });
        }

        // Past one bundle (a quarter of the queue bound) the backlog waits in the queue: the writer is pacing.
        var connectionId = subscriber.Frames[0].ConnectionId;
        var transport = server.Services.GetRequiredService<LiveConnections>().ForApp(Server.Hosting.DevelopmentApp.AppId).Single(c => c.Id == connectionId).Transport!;
        await Wait.Eventually("a backlog queued for the subscriber", () => transport.QueuedBytes > 64 * 1024);

        await server.StopAsync().Within();

        await subscriber.Closed.ContinueWith(_ => { }).Within();
        Assert.DoesNotContain(subscriber.Frames, f => f.Action == ProtocolAction.Disconnected);
        Assert.True(subscriber.Frames.Where(f => f.Action == ProtocolAction.Message).Sum(f => f.Messages?.Count ?? 0) < Messages, "the backlog was cut short");
    }

    private static async Task<RawRealtimeSocket> ConnectedAsync(InProcessServer server, string format)
    {
        var socket = await server.ConnectAsync($"key={RootKey}&format={format}&heartbeats=false&v=6");
        await socket.WaitForAsync(ProtocolAction.Connected);
        return socket;
    }

    private static void AssertShuttingDown(ProtocolMessage frame)
    {
        Assert.Equal(ProtocolAction.Disconnected, frame.Action);
        Assert.Equal(ErrorCodes.ConnectionDisconnected, frame.Error?.Code);
        Assert.Equal(503, frame.Error?.StatusCode);
    }

    private sealed class CloseNotice(CancellationToken closeRequested) : IConnectionLifetimeNotificationFeature
    {
        public CancellationToken ConnectionClosedRequested { get; set; } = closeRequested;

        public void RequestClose()
        {
        }
    }
}
