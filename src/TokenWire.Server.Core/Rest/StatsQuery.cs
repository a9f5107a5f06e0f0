using System.Globalization;
using Microsoft.AspNetCore.Http;
using TokenWire.Protocol;
using TokenWire.Server.Stats;

namespace TokenWire.Server.Rest;

/// <summary>
/// <c>GET /stats</c> parameters (spec RSC6b): <c>unit</c> (also the older <c>by</c>; minute by default),
/// <c>start</c>/<c>end</c> in ms or as an interval id of any unit (an end id includes its whole interval),
/// <c>direction</c> (backwards by default) and <c>limit</c> (100 by default, at most 1,000). <see cref="First"/> and
/// <see cref="Last"/> are the starts of the first and last interval in range; a later page carries the query's range
/// as it was and a <see cref="Cursor"/>, the start of the last interval shown, so that its first link is the first page.
/// </summary>
public sealed record StatsQuery(StatsUnit Unit, long First, long Last, bool Forwards, int Limit, long? Cursor = null)
{
    public const int DefaultLimit = 100;
    public const int MaxLimit = 1000;

    public static StatsQuery Parse(IQueryCollection query, long now)
    {
        var unitText = query.TryGetValue("unit", out var u) ? u.ToString() : query["by"].ToString();
        var unit = StatsUnit.Minute;
        if (unitText.Length > 0 && !StatsIntervals.TryParseUnit(unitText, out unit))
        {
            throw Invalid($"unit must be minute, hour, day or month, not '{unitText}'");
        }

        var limit = DefaultLimit;
        if (query.TryGetValue("limit", out var limitText)
            && (!int.TryParse(limitText, NumberStyles.None, CultureInfo.InvariantCulture, out limit) || limit < 1 || limit > MaxLimit))
        {
            throw Invalid($"limit must be an integer from 1 to {MaxLimit}");
        }

        var forwards = query["direction"].ToString() switch
        {
            "" or "backwards" => false,
            "forwards" => true,
            var other => throw Invalid($"direction must be 'forwards' or 'backwards', not '{other}'"),
        };

        var start = ParseTime(query, "start", atEnd: false) ?? 0;
        var end = ParseTime(query, "end", atEnd: true) ?? now;
        if (start > end)
        {
            throw Invalid("start must not be later than end");
        }

        var cursor = ParseTime(query, "cursor", atEnd: false);
        return new StatsQuery(unit, StatsIntervals.Floor(start, unit), StatsIntervals.Floor(end, unit), forwards, limit, cursor);
    }

    /// <summary>The start of the first interval this page may show (the oldest going forwards).</summary>
    public long PageFirst => Forwards && Cursor is { } c ? Math.Max(First, StatsIntervals.Next(c, Unit)) : First;

    /// <summary>The start of the last interval this page may show (the newest going backwards).</summary>
    public long PageLast => !Forwards && Cursor is { } c ? Math.Min(Last, c - 1) : Last;

    /// <summary>The query of the page that follows one ending with the interval starting at <paramref name="lastShown"/>.</summary>
    public StatsQuery After(long lastShown) => this with { Cursor = lastShown };

    /// <summary>Link entries as the SDK follows them (<c>./stats?…</c>, first, current and, when there is more, next).</summary>
    public string Link(StatsQuery? next)
    {
        var link = $"<./stats?{(this with { Cursor = null }).ToQueryString()}>; rel=\"first\", <./stats?{ToQueryString()}>; rel=\"current\"";
        return next is null ? link : link + $", <./stats?{next.ToQueryString()}>; rel=\"next\"";
    }

    private string ToQueryString() => string.Create(
        CultureInfo.InvariantCulture,
        $"unit={StatsIntervals.Name(Unit)}&limit={Limit}&direction={(Forwards ? "forwards" : "backwards")}&start={First}&end={Last}{(Cursor is { } c ? $"&cursor={c}" : string.Empty)}");

    /// <summary>A time in ms, or an interval id: its start, or for <paramref name="atEnd"/> its last millisecond.</summary>
    private static long? ParseTime(IQueryCollection query, string name, bool atEnd)
    {
        var text = query[name].ToString();
        if (text.Length == 0)
        {
            return null;
        }

        if (long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var ms))
        {
            return ms;
        }

        if (StatsIntervals.TryParseIntervalId(text, out var start, out var idUnit))
        {
            return atEnd ? StatsIntervals.Next(start, idUnit) - 1 : start;
        }

        throw Invalid($"{name} must be a time in milliseconds since the epoch or an interval id such as 2025-02-03:15:04");
    }

    private static ProtocolException Invalid(string message) => new(ErrorCodes.InvalidParameterValue, "Invalid stats request: " + message);
}
