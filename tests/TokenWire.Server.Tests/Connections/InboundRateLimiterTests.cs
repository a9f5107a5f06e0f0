using Microsoft.Extensions.Time.Testing;
using TokenWire.Server.Connections;

namespace TokenWire.Server.Tests.Connections;

public sealed class InboundRateLimiterTests
{
    private readonly FakeTimeProvider _time = new();

    [Fact]
    public void The_burst_is_available_at_once_then_the_bucket_refills_at_the_rate()
    {
        var limiter = new InboundRateLimiter(ratePerSecond: 10, burst: 50, _time);

        Assert.Equal(50, Enumerable.Range(0, 60).Count(_ => limiter.TryTake(1)));

        _time.Advance(TimeSpan.FromMilliseconds(500));
        Assert.Equal(5, Enumerable.Range(0, 10).Count(_ => limiter.TryTake(1)));

        _time.Advance(TimeSpan.FromHours(1));
        Assert.Equal(50, Enumerable.Range(0, 60).Count(_ => limiter.TryTake(1)));
    }

    [Fact]
    public void A_batch_takes_one_token_per_message_all_or_nothing()
    {
        var limiter = new InboundRateLimiter(ratePerSecond: 10, burst: 10, _time);

        Assert.True(limiter.TryTake(7));
        Assert.False(limiter.TryTake(4));
        Assert.True(limiter.TryTake(3));
        Assert.False(limiter.TryTake(1));
    }

    [Fact]
    public void A_message_less_publish_still_costs_one()
    {
        var limiter = new InboundRateLimiter(ratePerSecond: 1, burst: 1, _time);

        Assert.True(limiter.TryTake(0));
        Assert.False(limiter.TryTake(0));
    }

    [Fact]
    public void A_burst_below_the_rate_still_allows_one_second_of_publishes()
    {
        var limiter = new InboundRateLimiter(ratePerSecond: 100, burst: 0, _time);

        Assert.Equal(100, Enumerable.Range(0, 150).Count(_ => limiter.TryTake(1)));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    public void A_rate_of_zero_or_less_is_unlimited(int rate)
    {
        var limiter = new InboundRateLimiter(rate, burst: 0, _time);

        Assert.False(limiter.IsLimited);
        Assert.All(Enumerable.Range(0, 100_000), _ => Assert.True(limiter.TryTake(10)));
    }
}
