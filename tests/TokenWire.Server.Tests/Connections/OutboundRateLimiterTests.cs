using Microsoft.Extensions.Time.Testing;
using TokenWire.Protocol;
using TokenWire.Server.Connections;

namespace TokenWire.Server.Tests.Connections;

public sealed class OutboundRateLimiterTests
{
    private readonly FakeTimeProvider _time = new();

    [Fact]
    public void One_seconds_worth_goes_at_once_then_each_message_waits_its_share_of_a_second()
    {
        var limiter = new OutboundRateLimiter(messagesPerSecond: 10, _time);

        Assert.All(Enumerable.Range(0, 10), _ => Assert.Equal(TimeSpan.Zero, limiter.Take(1)));
        Assert.Equal(TimeSpan.FromMilliseconds(100), limiter.Take(1));

        // The writer waited those 100 ms: the debt is paid, and the next message waits another 100 ms.
        _time.Advance(TimeSpan.FromMilliseconds(100));
        Assert.Equal(TimeSpan.FromMilliseconds(100), limiter.Take(1));

        _time.Advance(TimeSpan.FromHours(1));
        Assert.Equal(TimeSpan.Zero, limiter.Take(10));
        Assert.Equal(TimeSpan.FromMilliseconds(100), limiter.Take(1));
    }

    [Fact]
    public void A_frame_costs_its_message_count_even_beyond_the_bucket()
    {
        var limiter = new OutboundRateLimiter(messagesPerSecond: 10, _time);

        Assert.Equal(TimeSpan.Zero, limiter.Take(4));
        Assert.Equal(TimeSpan.FromSeconds(2.4), limiter.Take(30));
    }

    [Fact]
    public void Only_message_frames_count_and_zero_means_unlimited()
    {
        var batch = new ProtocolMessage(ProtocolAction.Message) { Messages = [new Message(), new Message(), new Message()] };
        Assert.Equal(3, OutboundRateLimiter.MessagesIn(batch));
        Assert.Equal(0, OutboundRateLimiter.MessagesIn(new ProtocolMessage(ProtocolAction.Ack)));
        Assert.Equal(0, OutboundRateLimiter.MessagesIn(new ProtocolMessage(ProtocolAction.Heartbeat)));

        var unlimited = new OutboundRateLimiter(messagesPerSecond: 0, _time);
        Assert.False(unlimited.IsLimited);
        Assert.Equal(TimeSpan.Zero, unlimited.Take(1_000_000));
    }
}
