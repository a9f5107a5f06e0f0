using TokenWire.Protocol;
using TokenWire.Server.Connections;

namespace TokenWire.Server.Tests.Connections;

public sealed class AttachParametersTests
{
    [Fact]
    public void No_params_is_a_fresh_attach_with_nothing_to_echo()
    {
        Assert.True(AttachParameters.TryParse(null, out var parsed, out _));
        Assert.Equal(AttachParameters.None, parsed);
    }

    [Theory]
    [InlineData("10", 10, null)]
    [InlineData("0", 0, null)]
    [InlineData("30s", null, 30)]
    [InlineData("2m", null, 120)]
    [InlineData("1h", null, 3600)]
    public void Rewind_is_a_count_or_an_age(string rewind, int? count, int? seconds)
    {
        Assert.True(AttachParameters.TryParse(new Dictionary<string, string> { ["rewind"] = rewind }, out var parsed, out _));
        Assert.Equal(count, parsed.Request.RewindCount);
        Assert.Equal(seconds is { } s ? TimeSpan.FromSeconds(s) : null, parsed.Request.RewindAge);
        Assert.Equal(rewind, parsed.Echoed!["rewind"]);
    }

    [Theory]
    [InlineData("rewind", "101")]
    [InlineData("rewind", "5d")]
    [InlineData("rewind", "x")]
    [InlineData("appendMode", "delta")]
    [InlineData("delta", "xdelta")]
    public void Invalid_values_of_known_params_are_40003(string name, string value)
    {
        Assert.False(AttachParameters.TryParse(new Dictionary<string, string> { [name] = value }, out _, out var error));
        Assert.Equal(ErrorCodes.InvalidParameterValue, error!.Code);
        Assert.Contains(value, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Modes_appendMode_and_known_params_are_parsed_and_echoed_unknown_ones_ignored()
    {
        var input = new Dictionary<string, string>
        {
            ["modes"] = "subscribe, PRESENCE_SUBSCRIBE,unknown",
            ["appendMode"] = "full",
            ["delta"] = "vcdiff",
            ["agent"] = "ai-transport-js/0.8.0",
        };
        Assert.True(AttachParameters.TryParse(new Dictionary<string, string> { ["rewind"] = "1" }, out var plain, out _));
        Assert.False(plain.Deltas);

        Assert.True(AttachParameters.TryParse(input, out var parsed, out _));
        Assert.Equal(ProtocolFlags.Subscribe | ProtocolFlags.PresenceSubscribe, parsed.Modes);
        Assert.True(parsed.WholeAppends);
        Assert.True(parsed.Deltas);
        Assert.Equal(["appendMode", "delta", "modes"], parsed.Echoed!.Keys.Order(StringComparer.Ordinal));
    }
}
