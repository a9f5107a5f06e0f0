using System.Text;

namespace TokenWire.Protocol.Tests;

public sealed class RecentStringsTests
{
    [Fact]
    public void A_repeated_value_is_the_kept_string_and_a_different_one_never_is()
    {
        var strings = new RecentStrings();
        Assert.True(strings.TryGet("token"u8, out var first));
        Assert.True(strings.TryGet("token"u8, out var again));
        Assert.Same(first, again);

        foreach (var other in new[] { "tokeN", "toke", "tokens", "nekot", "" })
        {
            Assert.True(strings.TryGet(Encoding.UTF8.GetBytes(other), out var value));
            Assert.Equal(other, value);
        }

        Assert.True(strings.TryGet("token"u8, out var third));
        Assert.Same(first, third);
    }

    [Fact]
    public void Past_its_capacity_old_entries_are_replaced_and_every_value_read_is_still_its_own()
    {
        var strings = new RecentStrings();
        for (var round = 0; round < 3; round++)
        {
            for (var i = 0; i < 20; i++)
            {
                var text = $"channel-{i}-é";
                Assert.True(strings.TryGet(Encoding.UTF8.GetBytes(text), out var value));
                Assert.Equal(text, value);
            }
        }
    }

    [Fact]
    public void Input_that_is_not_valid_UTF8_or_too_long_is_left_to_the_reader()
    {
        var strings = new RecentStrings();
        // U+FFFD is what a replacing decoder makes of 0xFF: kept, it must not be matched by the invalid byte.
        Assert.True(strings.TryGet(Encoding.UTF8.GetBytes("a\uFFFD"), out _));
        Assert.False(strings.TryGet([(byte)'a', 0xFF], out _));
        Assert.False(strings.TryGet([(byte)'a', 0xC3], out _)); // a sequence cut short

        var longest = new string('x', RecentStrings.MaxUtf8Length);
        Assert.True(strings.TryGet(Encoding.UTF8.GetBytes(longest), out var kept));
        Assert.Equal(longest, kept);
        Assert.False(strings.TryGet(Encoding.UTF8.GetBytes(longest + "x"), out _));
    }
}
