using System.Text;
using TokenWire.Protocol;
using TokenWire.Server.Channels;

namespace TokenWire.Server.Tests.Channels;

/// <summary>Issue 16 item 2: Ably's channel qualifiers — <c>[?params]name</c>, <c>[filter=…]name</c> and both.</summary>
public sealed class QualifiedChannelNameTests
{
    private static string Base64(string text) => Convert.ToBase64String(Encoding.UTF8.GetBytes(text));

    [Fact]
    public void A_plain_name_is_itself()
    {
        var name = QualifiedChannelName.Parse("chat:42");
        Assert.Equal("chat:42", name.Name);
        Assert.False(name.IsQualified);
        Assert.Null(name.Params);
        Assert.Null(name.Filter);
    }

    [Fact]
    public void Params_qualifier_names_the_channel_and_carries_url_decoded_params()
    {
        var name = QualifiedChannelName.Parse("[?rewind=2&delta=vcdiff&agent=a%20b]chat:42");
        Assert.Equal("chat:42", name.Name);
        Assert.Equal("[?rewind=2&delta=vcdiff&agent=a%20b]chat:42", name.WireName);
        Assert.True(name.IsQualified);
        Assert.Equal(new Dictionary<string, string> { ["rewind"] = "2", ["delta"] = "vcdiff", ["agent"] = "a b" }, name.Params);
    }

    [Fact]
    public void The_attach_params_win_over_the_qualifier_params()
    {
        var name = QualifiedChannelName.Parse("[?rewind=2&occupancy=metrics]chan");
        var merged = name.MergeParams(new Dictionary<string, string> { ["rewind"] = "5" });
        Assert.Equal("5", merged!["rewind"]);
        Assert.Equal("metrics", merged["occupancy"]);
        Assert.Same(name.Params, name.MergeParams(null));
    }

    [Fact]
    public void Filter_qualifier_as_ably_js_getDerived_writes_it()
    {
        // getDerived: `[filter=${base64(expression)}${qualifierParam}]${name}`, standard base64 with padding.
        const string expression = "name == `\"filtered\"` && headers.number == `26095`";
        var name = QualifiedChannelName.Parse($"[filter={Base64(expression)}?rewind=1]chan");
        Assert.Equal("chan", name.Name);
        Assert.Equal(expression, name.Filter!.Expression);
        Assert.Equal("1", name.Params!["rewind"]);
    }

    [Fact]
    public void Filter_may_be_url_safe_base64_without_padding()
    {
        const string expression = "headers.x >= `1` || name == '~~~?'";
        var urlSafe = Base64(expression).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        Assert.Equal(expression, QualifiedChannelName.Parse($"[filter={urlSafe}]chan").Filter!.Expression);
    }

    [Theory]
    [InlineData("[?rewind=1chan", "no closing ']'")]
    [InlineData("[]chan", "empty")]
    [InlineData("[meta]log", "'[meta]' is not supported")]
    [InlineData("[product:x/y]chan", "is not supported")]
    [InlineData("[?rewind=1]", "must not be empty")]
    [InlineData("[?rewind=1][?rewind=2]chan", "qualified name")]
    [InlineData("[?rewind=1]:chan", "must not start with ':'")]
    [InlineData("[?=1]chan", "no name")]
    [InlineData("[filter=]chan", "filter is empty")]
    [InlineData("[filter=@@@@]chan", "not base64")]
    [InlineData("[filter=/w==]chan", "not UTF-8")]
    public void A_malformed_qualifier_is_40010(string wireName, string reason)
    {
        Assert.False(QualifiedChannelName.TryParse(wireName, out var name, out var error));
        Assert.Null(name);
        Assert.Equal(ErrorCodes.InvalidChannelName, error!.Code);
        Assert.Contains(reason, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_bad_filter_expression_is_40003()
    {
        Assert.False(QualifiedChannelName.TryParse($"[filter={Base64("name = 'x'")}]chan", out _, out var error));
        Assert.Equal(ErrorCodes.InvalidParameterValue, error!.Code);
        Assert.Contains("Invalid filter expression", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("chan", "chan")]
    [InlineData("[?rewind=1]chan", "chan")]
    [InlineData("[filter=abc?x=1]a:b", "a:b")]
    public void Unqualified_strips_the_qualifier(string wireName, string expected) =>
        Assert.Equal(expected, QualifiedChannelName.Unqualified(wireName));
}
