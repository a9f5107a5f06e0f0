using System.Net.WebSockets;
using Microsoft.Extensions.DependencyInjection;
using TokenWire.Protocol;
using TokenWire.Server.Connections;
using TokenWire.Server.Tests.Diagnostics;

namespace TokenWire.Server.Tests.Connections;

/// <summary>
/// Closing a transport is one-shot: the client gets one closing frame, flushed, then a normal close. Whatever is sent
/// after it (a second revocation's DISCONNECTED, a heartbeat, a delivery) is dropped: it is neither queued behind the
/// closing frame nor taken for a slow consumer, which would abort the socket before the closing frame is written.
/// </summary>
public sealed class ClosingTests : IAsyncLifetime
{
    /// <summary>Small, so that one frame sent after the close is past the bound on its own.</summary>
    private const int QueueBytes = 4096;

    private InProcessServer _server = null!;
    private MetricRecorder _metrics = null!;

    public async Task InitializeAsync()
    {
        _server = await InProcessServer.StartAsync(new Dictionary<string, string?> { ["TokenWire:Limits:OutboundQueueBytes"] = QueueBytes.ToString(System.Globalization.CultureInfo.InvariantCulture) });
        _metrics = new MetricRecorder(_server.Services);
    }

    public async Task DisposeAsync()
    {
        _metrics.Dispose();
        await _server.DisposeAsync();
    }

    [Fact]
    public async Task A_second_close_is_a_no_op_and_the_client_gets_one_closing_frame_and_a_normal_close()
    {
        var (socket, transport) = await ConnectAsync();
        await using var _ = socket;

        Assert.True(transport.SendAndClose(Revoked()));
        Assert.False(transport.SendAndClose(Revoked()));
        Assert.False(transport.SendAndClose(new ProtocolMessage(ProtocolAction.Closed)));
        transport.Fail(ErrorCodes.Create(ErrorCodes.ProtocolError, "also too late"));

        await socket.Closed.Within();
        Assert.Equal(WebSocketCloseStatus.NormalClosure, socket.CloseStatus);
        var closing = Assert.Single(socket.Frames, f => f.Action is ProtocolAction.Disconnected or ProtocolAction.Closed or ProtocolAction.Error);
        Assert.Equal(ErrorCodes.TokenRevoked, closing.Error?.Code);
        Assert.Same(closing, socket.Frames[^1]);
    }

    [Fact]
    public async Task A_send_after_the_closing_frame_is_dropped_and_never_taken_for_a_slow_consumer()
    {
        var (socket, transport) = await ConnectAsync();
        await using var _ = socket;

        transport.SendAndClose(Revoked());
        // Larger than the whole queue bound: before, this ended the transport as a slow consumer (an abort).
        transport.Send(new ProtocolMessage(ProtocolAction.Message) { Channel = "late", Messages = [new Message { Data = MessageData.FromText(new string('x', QueueBytes * 2)) }] });
        transport.Send(new ProtocolMessage(ProtocolAction.Heartbeat));

        await socket.Closed.Within();
        Assert.Equal(WebSocketCloseStatus.NormalClosure, socket.CloseStatus);
        Assert.Equal(ErrorCodes.TokenRevoked, socket.Frames[^1].Error?.Code);
        Assert.DoesNotContain(socket.Frames, f => f.Action is ProtocolAction.Message or ProtocolAction.Heartbeat);
        Assert.Equal(0, _metrics.Sum("tokenwire.slow_consumer.disconnects"));
    }

    [Fact]
    public async Task A_frame_past_the_bound_before_any_close_still_ends_a_slow_consumer()
    {
        var (socket, transport) = await ConnectAsync();
        await using var _ = socket;

        transport.Send(new ProtocolMessage(ProtocolAction.Message) { Channel = "big", Messages = [new Message { Data = MessageData.FromText(new string('x', QueueBytes * 2)) }] });

        await socket.Closed.WaitAsync(Wait.Timeout).ContinueWith(_ => { }, TaskScheduler.Default);
        Assert.NotEqual(WebSocketCloseStatus.NormalClosure, socket.CloseStatus);
        // The client may see the abort before the server has counted it: wait for the count, not for time.
        await Wait.Eventually("the slow consumer is counted", () => _metrics.Sum("tokenwire.slow_consumer.disconnects") >= 1);
        Assert.Equal(1, _metrics.Sum("tokenwire.slow_consumer.disconnects"));
        Assert.True(transport.IsClosing);
        Assert.False(transport.SendAndClose(Revoked()), "an aborted transport sends no closing frame");
    }

    private static ProtocolMessage Revoked() =>
        new(ProtocolAction.Disconnected) { Error = ErrorCodes.Create(ErrorCodes.TokenRevoked, "Token revoked") };

    private async Task<(RawRealtimeSocket Socket, RealtimeTransport Transport)> ConnectAsync()
    {
        var socket = await _server.ConnectAsync($"key={Uri.EscapeDataString(InProcessServer.RootKey)}&format=json&v=6");
        var connected = await socket.WaitForAsync(ProtocolAction.Connected);
        var live = _server.Services.GetRequiredService<LiveConnections>();
        RealtimeTransport? transport = null;
        await Wait.Eventually("the transport is live", () => (transport = live.ForApp("dev").FirstOrDefault(c => c.Id == connected.ConnectionId)?.Transport as RealtimeTransport) is not null);
        return (socket, transport!);
    }
}
