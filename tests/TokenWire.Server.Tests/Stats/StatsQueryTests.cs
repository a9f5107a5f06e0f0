using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;
using TokenWire.Protocol;
using TokenWire.Server.Rest;
using TokenWire.Server.Stats;

namespace TokenWire.Server.Tests.Stats;

public sealed class StatsQueryTests
{
    private static readonly long Now = new DateTimeOffset(2026, 6, 1, 12, 30, 15, TimeSpan.Zero).ToUnixTimeMilliseconds();

    private static long Ms(int year, int month, int day, int hour = 0, int minute = 0) =>
        new DateTimeOffset(year, month, day, hour, minute, 0, TimeSpan.Zero).ToUnixTimeMilliseconds();

    [Fact]
    public void Defaults_are_minutes_backwards_100_from_the_epoch_to_now()
    {
        var query = Parse();

        Assert.Equal(new StatsQuery(StatsUnit.Minute, 0, StatsIntervals.Floor(Now, StatsUnit.Minute), false, 100), query);
    }

    [Fact]
    public void Interval_ids_bound_the_range_and_an_end_id_includes_its_whole_interval()
    {
        Assert.Equal(new StatsQuery(StatsUnit.Minute, Ms(2025, 2, 3, 15, 3), Ms(2025, 2, 3, 15, 5), true, 100), Parse(("start", "2025-02-03:15:03"), ("end", "2025-02-03:15:05"), ("direction", "forwards")));
        Assert.Equal(new StatsQuery(StatsUnit.Hour, Ms(2025, 2, 3, 15), Ms(2025, 2, 3, 18), false, 100), Parse(("start", "2025-02-03:15"), ("end", "2025-02-03:18"), ("by", "hour")));
        Assert.Equal(Ms(2025, 2, 28, 23, 59), Parse(("end", "2025-02")).Last);
        Assert.Equal(new StatsQuery(StatsUnit.Day, Ms(2025, 2, 3), Ms(2025, 3, 3), false, 5), Parse(("start", Ms(2025, 2, 3, 15, 3).ToString(System.Globalization.CultureInfo.InvariantCulture)), ("end", Ms(2025, 3, 3, 15, 6).ToString(System.Globalization.CultureInfo.InvariantCulture)), ("unit", "day"), ("limit", "5")));
    }

    [Theory]
    [InlineData("unit", "week")]
    [InlineData("limit", "1001")]
    [InlineData("limit", "0")]
    [InlineData("direction", "sideways")]
    [InlineData("start", "last tuesday")]
    public void Bad_parameters_are_refused_with_40003(string name, string value)
    {
        var error = Assert.Throws<ProtocolException>(() => Parse((name, value)));
        Assert.Equal(ErrorCodes.InvalidParameterValue, error.Error.Code);
        Assert.Equal(400, error.Error.StatusCode);
    }

    [Fact]
    public void A_start_after_the_end_is_refused()
    {
        var error = Assert.Throws<ProtocolException>(() => Parse(("start", "2000"), ("end", "1000")));
        Assert.Equal(ErrorCodes.InvalidParameterValue, error.Error.Code);
    }

    [Fact]
    public void The_next_page_starts_after_the_last_interval_shown_in_either_direction_and_its_first_link_is_the_first_page()
    {
        var backwards = new StatsQuery(StatsUnit.Hour, Ms(2025, 1, 1), Ms(2025, 1, 2), false, 2);
        var forwards = backwards with { Forwards = true };

        Assert.Equal((Ms(2025, 1, 1), Ms(2025, 1, 1, 10) - 1), (backwards.After(Ms(2025, 1, 1, 10)).PageFirst, backwards.After(Ms(2025, 1, 1, 10)).PageLast));
        Assert.Equal((Ms(2025, 1, 1, 11), Ms(2025, 1, 2)), (forwards.After(Ms(2025, 1, 1, 10)).PageFirst, forwards.After(Ms(2025, 1, 1, 10)).PageLast));
        var first = $"<./stats?unit=hour&limit=2&direction=forwards&start={Ms(2025, 1, 1)}&end={Ms(2025, 1, 2)}>; rel=\"first\"";
        var second = forwards.After(Ms(2025, 1, 1, 10));
        Assert.Contains(first, forwards.Link(second), StringComparison.Ordinal);
        Assert.Contains($"&cursor={Ms(2025, 1, 1, 10)}>; rel=\"next\"", forwards.Link(second), StringComparison.Ordinal);
        Assert.Contains(first, second.Link(second.After(Ms(2025, 1, 1, 12))), StringComparison.Ordinal);
        Assert.Contains($"&cursor={Ms(2025, 1, 1, 10)}>; rel=\"current\"", second.Link(null), StringComparison.Ordinal);
        Assert.DoesNotContain("rel=\"next\"", forwards.Link(null), StringComparison.Ordinal);
        Assert.Equal(second, Parse(("unit", "hour"), ("limit", "2"), ("direction", "forwards"), ("start", Ms(2025, 1, 1).ToString(System.Globalization.CultureInfo.InvariantCulture)), ("end", Ms(2025, 1, 2).ToString(System.Globalization.CultureInfo.InvariantCulture)), ("cursor", Ms(2025, 1, 1, 10).ToString(System.Globalization.CultureInfo.InvariantCulture))));
    }

    private static StatsQuery Parse(params (string Name, string Value)[] parameters) =>
        StatsQuery.Parse(new QueryCollection(parameters.ToDictionary(p => p.Name, p => new StringValues(p.Value))), Now);
}
