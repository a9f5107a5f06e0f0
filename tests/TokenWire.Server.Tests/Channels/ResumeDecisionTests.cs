using TokenWire.Protocol.Serials;
using TokenWire.Server.Channels;

namespace TokenWire.Server.Tests.Channels;

public sealed class ResumeDecisionTests
{
    private static readonly LogPosition Attach = new("00000000000002", 10);

    [Theory]
    [InlineData(0)]
    [InlineData(4)]
    [InlineData(10)]
    public void A_position_of_the_same_epoch_at_or_before_the_attach_point_can_be_continued(long offset) =>
        Assert.True(ResumeDecision.CanContinue(Attach.WithOffset(offset), Attach));

    [Theory]
    [InlineData(11)]
    [InlineData(-1)]
    public void A_position_past_the_attach_point_or_negative_cannot(long offset) =>
        Assert.False(ResumeDecision.CanContinue(Attach.WithOffset(offset), Attach));

    [Theory]
    [InlineData("00000000000001")]
    [InlineData("00000000000003")]
    public void A_position_of_another_epoch_cannot(string epoch) =>
        Assert.False(ResumeDecision.CanContinue(new LogPosition(epoch, 5), Attach));

    [Theory]
    [InlineData(0, true)]
    [InlineData(7, true)]
    [InlineData(8, true)]
    [InlineData(9, false)]
    [InlineData(-1, false)]
    public void An_annotation_mark_at_or_before_the_attach_marks_can_be_continued(long mark, bool expected)
    {
        Assert.Equal(expected, ResumeDecision.CanContinue(Attach.WithOffset(4), mark, Attach, 8));
        Assert.False(ResumeDecision.CanContinue(Attach.WithOffset(11), 0, Attach, 8));
    }
}
