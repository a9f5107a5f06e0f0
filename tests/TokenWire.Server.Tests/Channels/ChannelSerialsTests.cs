using TokenWire.Protocol.Serials;
using TokenWire.Server.Channels;

namespace TokenWire.Server.Tests.Channels;

public sealed class ChannelSerialsTests
{
    private static readonly LogPosition Position = new("01796593437524", 42);

    [Fact]
    public void Without_annotations_a_channel_serial_is_the_log_position()
    {
        Assert.Equal(Position.ToSerial(), ChannelSerials.Format(Position, 0));
        Assert.True(ChannelSerials.TryParse(Position.ToSerial(), out var position, out var mark));
        Assert.Equal((Position, 0L), (position, mark));
    }

    [Fact]
    public void A_mark_follows_the_position_and_parses_back()
    {
        var serial = ChannelSerials.Format(Position, ChannelSerials.RawMark(3));
        Assert.Equal(Position.ToSerial() + ":5", serial);
        Assert.Equal(serial, ChannelSerials.Format(Position.ToSerial(), 5));
        Assert.True(ChannelSerials.TryParse(serial, out var position, out var mark));
        Assert.Equal((Position, 5L), (position, mark));
        Assert.Equal(6, ChannelSerials.SummaryMark(3));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("01796593437524-000000000042:")]
    [InlineData("01796593437524-000000000042:x")]
    [InlineData("01796593437524-000000000042:-1")]
    [InlineData("nonsense:4")]
    public void Anything_else_does_not_parse(string? serial) =>
        Assert.False(ChannelSerials.TryParse(serial, out _, out _));
}
