using TokenWire.Protocol.Serials;

namespace TokenWire.Protocol.Tests.Serials;

public sealed class LogPositionTests
{
    private static readonly DateTimeOffset Start = new(2026, 11, 26, 9, 0, 0, TimeSpan.Zero);

    private static readonly long[] Offsets = [0, 1, 2, 9, 10, 11, 99, 100, 101, 999, 1000, 65535, 65536, 1_000_000, 123_456_789, 999_999_999_999];

    [Fact]
    public void Epoch_is_fourteen_digits_of_unix_milliseconds()
    {
        var epoch = LogPosition.NewEpoch(Start);

        Assert.Equal(LogPosition.EpochDigits, epoch.Length);
        Assert.Equal(Start.ToUnixTimeMilliseconds(), long.Parse(epoch, System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal("00000000000001", LogPosition.NewEpoch(DateTimeOffset.FromUnixTimeMilliseconds(1)));
    }

    [Fact]
    public void Serial_is_epoch_dash_twelve_digit_offset()
    {
        var serial = new LogPosition("01764147600000", 42).ToSerial();

        Assert.Equal("01764147600000-000000000042", serial);
        Assert.Equal(serial, new LogPosition("01764147600000", 42).ToString());
    }

    [Fact]
    public void Serials_are_fixed_width_for_every_offset()
    {
        var epoch = LogPosition.NewEpoch(Start);

        var lengths = Offsets.Select(o => new LogPosition(epoch, o).ToSerial().Length).Distinct();

        Assert.Equal([LogPosition.EpochDigits + 1 + LogPosition.OffsetDigits], lengths);
    }

    [Fact]
    public void Serials_sort_lexicographically_in_offset_order()
    {
        var epoch = LogPosition.NewEpoch(Start);
        var serials = Offsets.Select(o => new LogPosition(epoch, o).ToSerial()).ToArray();

        var sorted = serials.Order(StringComparer.Ordinal).ToArray();

        Assert.Equal(serials, sorted);
    }

    [Fact]
    public void Serials_of_a_later_epoch_sort_after_every_serial_of_an_earlier_epoch()
    {
        var early = LogPosition.NewEpoch(Start);
        var later = LogPosition.NewEpoch(Start.AddMilliseconds(1));
        var muchLater = LogPosition.NewEpoch(Start.AddYears(300));
        Assert.True(string.CompareOrdinal(early, later) < 0);
        Assert.True(string.CompareOrdinal(later, muchLater) < 0);

        var inOrder = new[] { early, later, muchLater }
            .SelectMany(epoch => Offsets.Select(o => new LogPosition(epoch, o).ToSerial()))
            .ToArray();

        Assert.Equal(inOrder, inOrder.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Random_positions_sort_by_epoch_then_offset_as_serials()
    {
        var random = new Random(1234);
        var positions = Enumerable.Range(0, 2000)
            .Select(_ => new LogPosition(LogPosition.NewEpoch(Start.AddMilliseconds(random.Next(0, 5))), random.NextInt64(0, 1_000_000_000_000)))
            .ToArray();

        var bySerial = positions.OrderBy(p => p.ToSerial(), StringComparer.Ordinal);
        var byValue = positions.OrderBy(p => p.Epoch, StringComparer.Ordinal).ThenBy(p => p.Offset);

        Assert.Equal(byValue, bySerial);
    }

    [Fact]
    public void TryParse_round_trips_every_serial()
    {
        foreach (var epoch in new[] { LogPosition.NewEpoch(Start), "0", "12345678901234567890" })
        {
            foreach (var offset in Offsets)
            {
                var position = new LogPosition(epoch, offset);

                Assert.True(LogPosition.TryParse(position.ToSerial(), out var parsed), position.ToSerial());
                Assert.Equal(position, parsed);
            }
        }
    }

    [Fact]
    public void WithOffset_keeps_the_epoch()
    {
        var position = new LogPosition("01764147600000", 3);

        Assert.Equal(new LogPosition("01764147600000", 9), position.WithOffset(9));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("ser:1")]
    [InlineData("fx-ser:0")]
    [InlineData("01700000000123-000@tokenwire:0")]
    [InlineData("-000000000001")]
    [InlineData("01764147600000")]
    [InlineData("01764147600000-")]
    [InlineData("01764147600000-1")]
    [InlineData("01764147600000-00000000001")]
    [InlineData("01764147600000-0000000000001")]
    [InlineData("01764147600000-00000000000x")]
    [InlineData("01764147600000-+00000000001")]
    [InlineData("01764147600000- 00000000001")]
    [InlineData("01764147600000-000000000001 ")]
    [InlineData(" 01764147600000-000000000001")]
    [InlineData("0176414760000a-000000000001")]
    [InlineData("01764-147600000-00000000001")]
    [InlineData("-01764147600000-000000000001")]
    [InlineData("01764147600000_000000000001")]
    [InlineData("\u0661\u0662-000000000001")]
    [InlineData("01764147600000-\u0660\u0660\u0660\u0660\u0660\u0660\u0660\u0660\u0660\u0660\u0660\u0661")]
    public void TryParse_rejects_malformed_serials(string? serial)
    {
        Assert.False(LogPosition.TryParse(serial, out var position));
        Assert.Equal(default, position);
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(1_000_000_000_000)]
    public void ToSerial_never_emits_a_serial_that_does_not_parse_back(long offset)
    {
        var position = new LogPosition("0", offset);

        var ex = Record.Exception(() => position.ToSerial());

        if (ex is null)
        {
            Assert.True(LogPosition.TryParse(position.ToSerial(), out var parsed));
            Assert.Equal(position, parsed);
        }
        else
        {
            Assert.IsAssignableFrom<ArgumentException>(ex);
        }
    }
}
