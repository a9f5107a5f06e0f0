using TokenWire.Server.Publishing;

namespace TokenWire.Server.Tests.Publishing;

public sealed class AppendOrderTests
{
    [Theory]
    [InlineData(AppendOutcome.Pending)]
    [InlineData(AppendOutcome.NotStored)]
    [InlineData(AppendOutcome.Unknown)]
    public void Only_a_stored_order_is_restarted(AppendOutcome outcome)
    {
        var earlier = new AppendOrder("conn:0:0", null);
        var order = new AppendOrder("conn:1:0", earlier);
        order.Settle(outcome);

        Assert.False(order.TryRestart("conn:2:0"));
        Assert.Equal("conn:1:0", order.Id);
        Assert.Equal(outcome, order.Outcome);
        Assert.Same(earlier, order.Predecessor); // a refused or unknown one still hands on to the pending one before it
    }

    [Fact]
    public async Task A_restarted_order_is_the_next_publishs_pending_again_with_no_predecessor_and_a_settlement_of_its_own()
    {
        var earlier = new AppendOrder("conn:0:0", null);
        var order = new AppendOrder("conn:1:0", earlier);
        var firstWait = order.WhenSettledAsync(CancellationToken.None);
        order.Settle(AppendOutcome.Stored);
        await firstWait;

        Assert.True(order.TryRestart("conn:2:0"));

        Assert.Equal("conn:2:0", order.Id);
        Assert.Equal(AppendOutcome.Pending, order.Outcome);
        Assert.Null(order.Predecessor);
        var successor = new AppendOrder("conn:3:0", order);
        Assert.Same(order, successor.Predecessor);
        var settled = order.WhenSettledAsync(CancellationToken.None);
        Assert.False(settled.IsCompleted);

        order.Settle(AppendOutcome.Stored);
        await settled.Within();
        Assert.Null(successor.Predecessor);
    }
}
