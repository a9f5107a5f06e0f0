using TokenWire.Protocol;

namespace TokenWire.Server.Tests.Diagnostics;

/// <summary>
/// The server's meters as a listener sees them (<see cref="MetricRecorder"/>, scoped to one in-process server):
/// publishes by kind, deliveries per frame, the lag histogram, NACKs by code, connections and resume outcomes.
/// </summary>
public sealed class MessageMetricsTests : IAsyncLifetime
{
    private const int MaxMessageSize = 2048;

    private static readonly string RootKey = Uri.EscapeDataString(InProcessServer.RootKey);

    private InProcessServer _server = null!;
    private MetricRecorder _metrics = null!;

    public async Task InitializeAsync()
    {
        _server = await InProcessServer.StartAsync(new Dictionary<string, string?>
        {
            ["TokenWire:Limits:MaxMessageSize"] = MaxMessageSize.ToString(System.Globalization.CultureInfo.InvariantCulture),
        });
        _metrics = new MetricRecorder(_server.Services);
    }

    public async Task DisposeAsync()
    {
        _metrics.Dispose();
        await _server.DisposeAsync();
    }

    [Fact]
    public async Task Every_published_message_is_counted_once_and_every_delivery_once_per_subscriber_with_a_lag_per_frame()
    {
        var channel = Wait.UniqueChannel("metrics");
        await using var publisher = await Connected();
        await using var first = await Connected();
        await using var second = await Connected();
        foreach (var subscriber in new[] { first, second })
        {
            await subscriber.SendAsync(new ProtocolMessage(ProtocolAction.Attach) { Channel = channel });
            await subscriber.WaitForAsync(ProtocolAction.Attached, channel);
        }

        const int Messages = 20;
        for (var i = 0; i < Messages; i++)
        {
            await publisher.SendAsync(Publish(channel, i, $"m{i}"));
        }

        await first.WaitForAsync(_ => Delivered(first, channel) == Messages, "every message at the first subscriber");
        await second.WaitForAsync(_ => Delivered(second, channel) == Messages, "every message at the second subscriber");
        await publisher.WaitForAsync(f => f.Action == ProtocolAction.Ack && f.MsgSerial == Messages - 1, "the last ACK");

        Assert.Equal(Messages, _metrics.Sum("tokenwire.messages.published", new("tokenwire.message.kind", "message")));

        // Counted after the write returns, so just after the client read it.
        await Wait.Eventually("deliveries counted", () => _metrics.Sum("tokenwire.messages.delivered") == 2 * Messages);
        var frames = MessageFrames(first, channel) + MessageFrames(second, channel);
        await Wait.Eventually("one lag per frame", () => _metrics.Count("tokenwire.delivery.lag") == frames);
        Assert.All(_metrics.Values("tokenwire.delivery.lag"), lag => Assert.InRange(lag, 0, Wait.Timeout.TotalMilliseconds));
        Assert.Equal(2 * Messages, _metrics.Sum("tokenwire.messages.delivered"));
    }

    [Fact]
    public async Task A_NACK_is_counted_by_its_error_code()
    {
        var channel = Wait.UniqueChannel("nack-metrics");
        await using var socket = await Connected();
        await socket.SendAsync(Publish(channel, 0, new string('x', MaxMessageSize + 1)));
        await socket.WaitForAsync(ProtocolAction.Nack);

        Assert.Equal(1, _metrics.Sum("tokenwire.nacks", new("tokenwire.error.code", ErrorCodes.MessageTooLarge)));
        Assert.Equal(0, _metrics.Sum("tokenwire.messages.published"));
    }

    [Fact]
    public async Task Connections_are_observed_and_a_resume_is_counted_by_its_outcome()
    {
        var before = _metrics.Observe("tokenwire.connections");
        var socket = await Connected();
        var connected = socket.Frames[0];
        Assert.Equal(before + 1, _metrics.Observe("tokenwire.connections"));
        await socket.DisposeAsync();
        await Wait.Eventually("the connection no longer counted", () => _metrics.Observe("tokenwire.connections") == before);

        await using var resumed = await Connected($"&resume={Uri.EscapeDataString(connected.ConnectionDetails!.ConnectionKey!)}");
        Assert.Equal(connected.ConnectionId, resumed.Frames[0].ConnectionId);
        await using var unknown = await Connected("&resume=nosuchkey-1");

        Assert.Equal(1, _metrics.Sum("tokenwire.resumes", new("tokenwire.resume.outcome", "resumed")));
        Assert.Equal(1, _metrics.Sum("tokenwire.resumes", new("tokenwire.resume.outcome", "new_connection")));
    }

    private async Task<RawRealtimeSocket> Connected(string extra = "")
    {
        var socket = await _server.ConnectAsync($"key={RootKey}&format=json&v=6{extra}");
        await socket.WaitForAsync(ProtocolAction.Connected);
        return socket;
    }

    private static ProtocolMessage Publish(string channel, long msgSerial, string data) => new(ProtocolAction.Message)
    {
        Channel = channel,
        MsgSerial = msgSerial,
        Messages = [new Message { Name = "token", Data = MessageData.FromText(data) }],
    };

    private static int Delivered(RawRealtimeSocket socket, string channel) =>
        socket.Frames.Where(f => f.Action == ProtocolAction.Message && f.Channel == channel).Sum(f => f.Messages?.Count ?? 0);

    private static int MessageFrames(RawRealtimeSocket socket, string channel) =>
        socket.Frames.Count(f => f.Action == ProtocolAction.Message && f.Channel == channel);
}
