using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.WebUtilities;
using TokenWire.Protocol;
using TokenWire.Protocol.Serials;
using TokenWire.Server.Log;
using TokenWire.Server.Rest;

namespace TokenWire.Server.Tests.Rest;

public sealed partial class HistoryRequestTests
{
    private const int MaxLimit = 1000;
    private const string Serial = "01764147600000-000000000042";

    [Fact]
    public void No_parameters_mean_the_last_hundred_messages_newest_first()
    {
        var query = Parse("");

        Assert.Equal(new HistoryQuery(null, null, Forwards: false, Limit: HistoryRequest.DefaultLimit, null, null), query);
        Assert.Equal(100, HistoryRequest.DefaultLimit);
    }

    [Fact]
    public void Every_parameter_is_parsed()
    {
        var query = Parse($"limit=25&direction=forwards&start=1700000000000&end=1700000009999&from_serial={Uri.EscapeDataString(Serial)}&cursor=01764147600000-000000000007");

        Assert.Equal(
            new HistoryQuery(1700000000000, 1700000009999, Forwards: true, Limit: 25, new LogPosition("01764147600000", 42), new LogPosition("01764147600000", 7)),
            query);
    }

    [Theory]
    [InlineData("limit=1", 1)]
    [InlineData("limit=1000", 1000)]
    [InlineData("limit=100", 100)]
    public void Limit_within_bounds_is_accepted(string parameters, int expected)
    {
        Assert.Equal(expected, Parse(parameters).Limit);
    }

    [Theory]
    [InlineData("direction=backwards", false)]
    [InlineData("direction=forwards", true)]
    [InlineData("direction=", false)]
    public void Direction_is_backwards_by_default(string parameters, bool forwards)
    {
        Assert.Equal(forwards, Parse(parameters).Forwards);
    }

    [Fact]
    public void Start_equal_to_end_is_a_valid_single_instant()
    {
        var query = Parse("start=5&end=5");

        Assert.Equal((5L, 5L), (query.StartMs, query.EndMs));
    }

    [Fact]
    public void Empty_time_bounds_and_serials_are_treated_as_absent()
    {
        var query = Parse("start=&end=&from_serial=&cursor=");

        Assert.Equal(new HistoryQuery(null, null, false, 100, null, null), query);
    }

    [Fact]
    public void From_serial_is_also_accepted_in_camel_case()
    {
        Assert.Equal(new LogPosition("01764147600000", 42), Parse("fromSerial=" + Serial).Until);
    }

    [Theory]
    [InlineData("limit=0")]
    [InlineData("limit=1001")]
    [InlineData("limit=-1")]
    [InlineData("limit=abc")]
    [InlineData("limit=1.5")]
    [InlineData("limit=%201")]
    [InlineData("limit=99999999999")]
    [InlineData("limit=1&limit=2")]
    [InlineData("direction=sideways")]
    [InlineData("direction=Forwards")]
    [InlineData("start=abc")]
    [InlineData("start=-1")]
    [InlineData("end=1e3")]
    [InlineData("start=2000&end=1000")]
    [InlineData("from_serial=ser%3A1")]
    [InlineData("from_serial=bad")]
    [InlineData("from_serial=01764147600000-42")]
    [InlineData("fromSerial=nope")]
    [InlineData("cursor=garbage")]
    [InlineData("cursor=01764147600000-00000000004x")]
    public void Invalid_parameter_throws_ProtocolException_40003(string parameters)
    {
        var ex = Assert.Throws<ProtocolException>(() => Parse(parameters));

        Assert.Equal(ErrorCodes.InvalidParameterValue, ex.Error.Code);
        Assert.Equal(400, ex.Error.StatusCode);
    }

    [Fact]
    public void Link_has_first_and_current_and_next_in_the_shape_ably_js_parses()
    {
        var query = new HistoryQuery(1700000000000, 1700000009999, false, 10, new LogPosition("01764147600000", 42), null);

        var link = HistoryRequest.Link("messages", query, new LogPosition("01764147600000", 30));

        var entries = SplitLink(link);
        Assert.Equal(["first", "current", "next"], entries.Select(e => e.Rel));
        Assert.All(entries, e => Assert.StartsWith("./messages?", e.Url, StringComparison.Ordinal));
        var next = QueryHelpers.ParseQuery(entries[2].Url[entries[2].Url.IndexOf('?', StringComparison.Ordinal)..]);
        Assert.Equal("01764147600000-000000000030", next["cursor"]);
        Assert.Equal("01764147600000-000000000042", next["from_serial"]);
        Assert.Equal("10", next["limit"]);
        Assert.Equal("backwards", next["direction"]);
        Assert.Equal("1700000000000", next["start"]);
        Assert.Equal("1700000009999", next["end"]);
        Assert.DoesNotContain("cursor=", entries[0].Url, StringComparison.Ordinal);
    }

    [Fact]
    public void Link_without_a_next_page_has_no_next_entry()
    {
        var link = HistoryRequest.Link("messages", new HistoryQuery(null, null, true, 100, null, null), null);

        var entries = SplitLink(link);
        Assert.Equal(["first", "current"], entries.Select(e => e.Rel));
        Assert.Equal("./messages?limit=100&direction=forwards", entries[0].Url);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Next_link_query_parses_back_to_the_same_query_with_the_cursor(bool forwards)
    {
        var query = new HistoryQuery(1, 2, forwards, 7, new LogPosition("01764147600000", 9), null);
        var cursor = new LogPosition("01764147600000", 3);

        var next = SplitLink(HistoryRequest.Link("messages", query, cursor))[2].Url;

        Assert.Equal(query with { Cursor = cursor }, Parse(next[(next.IndexOf('?', StringComparison.Ordinal) + 1)..]));
    }

    [Fact]
    public void Link_urls_never_contain_raw_commas()
    {
        var query = new HistoryQuery(0, long.MaxValue, false, 1000, new LogPosition("99999999999999", 999_999_999_999), null);

        var link = HistoryRequest.Link("presence", query, new LogPosition("99999999999999", 1));

        var entries = SplitLink(link);
        Assert.Equal(3, entries.Count);
        Assert.All(entries, e => Assert.DoesNotContain(",", e.Url, StringComparison.Ordinal));
        Assert.All(entries, e => Assert.StartsWith("./presence?", e.Url, StringComparison.Ordinal));
    }

    private static HistoryQuery Parse(string parameters) =>
        HistoryRequest.Parse(new QueryCollection(QueryHelpers.ParseQuery(parameters)), MaxLimit);

    /// <summary>Splits a Link header on commas and matches each part like ably-js does: <c>&lt;./word?query&gt;; rel="name"</c>.</summary>
    private static List<(string Url, string Rel)> SplitLink(string link) =>
        link.Split(',')
            .Select(part =>
            {
                var match = LinkEntry().Match(part.Trim());
                Assert.True(match.Success, $"not an ably-js link entry: '{part}'");
                return (match.Groups["url"].Value, match.Groups["rel"].Value);
            })
            .ToList();

    [GeneratedRegex("""^<(?<url>\./[A-Za-z0-9_]+\?[^>]+)>; rel="(?<rel>[a-z]+)"$""")]
    private static partial Regex LinkEntry();
}
