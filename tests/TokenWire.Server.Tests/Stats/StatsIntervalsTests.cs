using TokenWire.Server.Stats;

namespace TokenWire.Server.Tests.Stats;

public sealed class StatsIntervalsTests
{
    private static readonly long At = new DateTimeOffset(2025, 2, 3, 15, 4, 37, 123, TimeSpan.Zero).ToUnixTimeMilliseconds();

    [Theory]
    [InlineData(StatsUnit.Minute, "2025-02-03:15:04", "2025-02-03:15:05")]
    [InlineData(StatsUnit.Hour, "2025-02-03:15", "2025-02-03:16")]
    [InlineData(StatsUnit.Day, "2025-02-03", "2025-02-04")]
    [InlineData(StatsUnit.Month, "2025-02", "2025-03")]
    public void Each_unit_floors_to_its_interval_names_it_as_Ably_does_and_steps_to_the_next(StatsUnit unit, string id, string nextId)
    {
        var start = StatsIntervals.Floor(At, unit);

        Assert.Equal(id, StatsIntervals.IntervalId(start, unit));
        Assert.Equal(nextId, StatsIntervals.IntervalId(StatsIntervals.Next(start, unit), unit));
        Assert.True(StatsIntervals.TryParseIntervalId(id, out var parsed, out var parsedUnit));
        Assert.Equal((start, unit), (parsed, parsedUnit));
    }

    [Fact]
    public void Months_have_their_own_lengths_and_a_year_turns()
    {
        var december = new DateTimeOffset(2024, 12, 31, 23, 59, 0, TimeSpan.Zero).ToUnixTimeMilliseconds();

        Assert.Equal("2025-01", StatsIntervals.IntervalId(StatsIntervals.Next(StatsIntervals.Floor(december, StatsUnit.Month), StatsUnit.Month), StatsUnit.Month));
        Assert.Equal("2025-01-01:00:00", StatsIntervals.IntervalId(StatsIntervals.Next(december, StatsUnit.Minute), StatsUnit.Minute));
    }

    [Theory]
    [InlineData("2025-02-03T15:04")]
    [InlineData("2025-13")]
    [InlineData("yesterday")]
    public void Anything_else_is_not_an_interval_id(string text) =>
        Assert.False(StatsIntervals.TryParseIntervalId(text, out _, out _));

    [Theory]
    [InlineData("week")]
    [InlineData("Minute")]
    public void Only_the_four_units_are_units(string text) => Assert.False(StatsIntervals.TryParseUnit(text, out _));
}
