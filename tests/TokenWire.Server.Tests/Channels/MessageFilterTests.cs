using TokenWire.Protocol;
using TokenWire.Server.Channels;

namespace TokenWire.Server.Tests.Channels;

/// <summary>Issue 16 item 2: the subscription filter grammar (Ably's JMESPath subset) and its evaluation on name and headers.</summary>
public sealed class MessageFilterTests
{
    private static readonly Message IceCream = Build("ice-cream", """{"headers":{"flavor":"strawberry","cost":35,"temp":3,"vegan":true,"note":null,"empty":"","quoted key":"yes","esc":"caf\u00e9 \"x\""}}""");

    private static Message Build(string? name, string? extras) =>
        new() { Name = name, Extras = extras is null ? null : JsonPayload.Parse(extras) };

    private static bool Match(string expression, Message message)
    {
        Assert.True(MessageFilter.TryParse(expression, out var filter, out var error), error?.Message);
        return filter!.Matches(message);
    }

    [Theory]
    [InlineData("name == `\"ice-cream\"`", true)]
    [InlineData("name == 'ice-cream'", true)]
    [InlineData("name != 'ice-cream'", false)]
    [InlineData("name == 'sorbet'", false)]
    [InlineData("headers.flavor == `\"strawberry\"`", true)]
    [InlineData("headers.flavor == 'strawberry'", true)]
    [InlineData("headers.cost == `35`", true)]
    [InlineData("headers.cost == `35.0`", true)]
    [InlineData("headers.cost == `\"35\"`", false)]
    [InlineData("headers.cost < `50`", true)]
    [InlineData("headers.cost <= `35`", true)]
    [InlineData("headers.cost > `35`", false)]
    [InlineData("headers.cost >= `35`", true)]
    [InlineData("headers.temp < `0`", false)]
    [InlineData("headers.vegan == `true`", true)]
    [InlineData("headers.vegan", true)]
    [InlineData("!headers.vegan", false)]
    [InlineData("headers.note == `null`", true)]
    [InlineData("headers.missing == `null`", true)]
    [InlineData("headers.missing", false)]
    [InlineData("!headers.missing", true)]
    [InlineData("headers.empty", false)]
    [InlineData("headers.\"quoted key\" == 'yes'", true)]
    [InlineData("headers.esc == `\"caf\\u00e9 \\\"x\\\"\"`", true)]
    [InlineData("name == `\"ice-cream\"` && headers.cost < `50`", true)]
    [InlineData("name == `\"ice-cream\"` && headers.cost > `50`", false)]
    [InlineData("headers.cost > `50` || headers.flavor == 'strawberry'", true)]
    [InlineData("headers.cost > `50` || headers.flavor == 'vanilla'", false)]
    [InlineData("!(headers.cost > `50`) && (headers.flavor == 'vanilla' || headers.temp < `5`)", true)]
    [InlineData("headers.flavor < 'z'", false)]
    [InlineData("headers.cost == headers.cost", true)]
    [InlineData("name == headers.flavor", false)]
    [InlineData("`true`", true)]
    [InlineData("'it\\'s' == `\"it's\"`", true)]
    public void Evaluates_name_and_headers_as_JMESPath_does(string expression, bool expected) =>
        Assert.Equal(expected, Match(expression, IceCream));

    [Fact]
    public void A_message_without_extras_or_name_compares_as_null()
    {
        var bare = Build(null, null);
        Assert.False(Match("headers.flavor == 'strawberry'", bare));
        Assert.True(Match("headers.flavor == `null` && name == `null`", bare));
        Assert.False(Match("name", bare));
    }

    [Fact]
    public void Ably_js_filtered_channel_test_expression_keeps_exactly_the_matching_messages()
    {
        const string expression = "name == `\"filtered\"` && headers.number == `26095`";
        Assert.True(Match(expression, Build("filtered", """{"headers":{"name":"Lorem Choo","number":26095,"bool":true}}""")));
        Assert.False(Match(expression, Build("filtered", null)));
        Assert.False(Match(expression, Build("filtered", """{"headers":{"name":"John Bull","number":12345,"bool":false}}""")));
        Assert.False(Match(expression, Build("end", null)));
    }

    [Fact]
    public void A_header_with_the_same_text_as_the_name_matches_across_encodings()
    {
        var message = Build("café", """{"headers":{"plain":"café","escaped":"caf\u00e9"}}""");
        Assert.True(Match("name == headers.plain", message));
        Assert.True(Match("name == headers.escaped", message));
        Assert.True(Match("headers.plain == headers.escaped", message));
    }

    [Fact]
    public void Nested_headers_are_ignored_rather_than_matched()
    {
        var message = Build("x", """{"other":{"headers":{"a":1}},"headers":{"obj":{"a":1},"a":2}}""");
        Assert.True(Match("headers.a == `2`", message));
        Assert.False(Match("headers.obj == `1`", message));
        Assert.True(Match("headers.obj", message));
    }

    [Fact]
    public void Matching_allocates_nothing()
    {
        Assert.True(MessageFilter.TryParse("name == 'ice-cream' && (headers.cost < `50` || headers.flavor == 'vanilla') && !headers.missing", out var filter, out _));
        filter!.Matches(IceCream);
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 1000; i++)
        {
            Assert.True(filter.Matches(IceCream));
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    [Theory]
    [InlineData("", "empty")]
    [InlineData("   ", "empty")]
    [InlineData("name ==", "ends where a value was expected")]
    [InlineData("name = 'x'", "'=='")]
    [InlineData("headers.cost == 5", "backquotes")]
    [InlineData("data == 'x'", "only 'name' and 'headers.<key>'")]
    [InlineData("clientId == 'x'", "only 'name' and 'headers.<key>'")]
    [InlineData("headers", "only 'name' and 'headers.<key>'")]
    [InlineData("headers.a.b == `1`", "flat")]
    [InlineData("name == `\"x\"", "unterminated literal")]
    [InlineData("name == `x`", "not a JSON value")]
    [InlineData("name == `[1]`", "only string, number, boolean and null literals")]
    [InlineData("name == 'x", "unterminated raw string")]
    [InlineData("(name == 'x'", "missing ')'")]
    [InlineData("name == 'x')", "unexpected ')'")]
    [InlineData("name == 'x' & name == 'y'", "use '&&'")]
    [InlineData("name == 'x' | name == 'y'", "use '||'")]
    [InlineData("headers.\"open == 'x'", "unterminated quoted identifier")]
    [InlineData("name == 'x' name", "unexpected 'n'")]
    public void Refuses_bad_expressions_with_40003_saying_where_and_why(string expression, string reason)
    {
        Assert.False(MessageFilter.TryParse(expression, out var filter, out var error));
        Assert.Null(filter);
        Assert.Equal(ErrorCodes.InvalidParameterValue, error!.Code);
        Assert.Equal(400, error.StatusCode);
        Assert.Contains(reason, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Bounds_length_depth_and_size()
    {
        Assert.False(MessageFilter.TryParse(new string(' ', MessageFilter.MaxLength + 1), out _, out var tooLong));
        Assert.Contains("longer than", tooLong!.Message, StringComparison.Ordinal);

        Assert.False(MessageFilter.TryParse(new string('(', 40) + "name" + new string(')', 40), out _, out var tooDeep));
        Assert.Contains("nested deeper", tooDeep!.Message, StringComparison.Ordinal);

        var many = string.Join("||", Enumerable.Repeat("`1`", 130));
        Assert.False(MessageFilter.TryParse(many, out _, out var tooMany));
        Assert.Contains("terms", tooMany!.Message, StringComparison.Ordinal);
    }
}
