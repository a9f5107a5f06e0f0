using System.Globalization;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Options;
using TokenWire.Protocol;
using TokenWire.Server.Auth;
using TokenWire.Server.Configuration;
using TokenWire.Server.Stats;

namespace TokenWire.Server.Rest;

/// <summary>
/// <c>GET /stats</c> (spec RSC6, TS12): the app's intervals in Ably's flat shape — <c>intervalId</c>, <c>unit</c>,
/// <c>schema</c>, <c>appId</c>, <c>inProgress</c> for the interval still being counted, and <c>entries</c> — paged
/// with Link headers. Needs the <c>stats</c> capability on <c>*</c>. In the sandbox, <c>POST /stats</c> stores
/// fixtures (an array in Ably's nested shape, as the Ably SDK test suites post them) for the app of the Basic key.
/// </summary>
public static class StatsApi
{
    /// <summary>The schema Ably names for its app stats entries.</summary>
    public const string Schema = "https://schemas.ably.com/json/app-stats-0.0.1.json";

    public static IEndpointRouteBuilder MapStatsApi(this IEndpointRouteBuilder routes)
    {
        routes.MapGet("/stats", GetAsync);
        return routes;
    }

    public static IEndpointRouteBuilder MapStatsFixtures(this IEndpointRouteBuilder routes)
    {
        routes.MapPost("/stats", PostFixturesAsync);
        return routes;
    }

    private static async Task GetAsync(HttpContext context, RestAuthentication authentication, IStatsStore store, TimeProvider time)
    {
        var auth = authentication.Authenticate(context.Request);
        if (!auth.Capability.Grants.Any(g => g.Key is "*" or "[*]*" && (g.Value & ChannelOperation.Stats) != 0))
        {
            throw new ProtocolException(ErrorCodes.OperationNotPermitted, "Permission denied: stats needs the stats capability on '*'");
        }

        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        var query = StatsQuery.Parse(context.Request.Query, now);
        await RestPaging.WriteArrayAsync(
            context,
            query.Limit,
            n => store.ReadAsync(auth.App.Id, query.Unit, query.PageFirst, query.PageLast, query.Forwards, n, context.RequestAborted),
            page => query.Link(page.HasNext ? query.After(page.Last.Start) : null),
            (w, bucket) => WriteInterval(w, auth.App.Id, query.Unit, bucket, now));
    }

    private static void WriteInterval(Utf8JsonWriter w, string appId, StatsUnit unit, StatsBucket bucket, long now)
    {
        w.WriteStartObject();
        w.WriteString("intervalId", StatsIntervals.IntervalId(bucket.Start, unit));
        w.WriteString("unit", StatsIntervals.Name(unit));
        w.WriteString("schema", Schema);
        w.WriteString("appId", appId);
        if (StatsIntervals.Next(bucket.Start, unit) > now)
        {
            // Ably's inProgress: the interval is still being counted, up to this second.
            w.WriteString("inProgress", DateTimeOffset.FromUnixTimeMilliseconds(now).ToString("yyyy'-'MM'-'dd':'HH':'mm':'ss", CultureInfo.InvariantCulture));
        }

        w.WriteStartObject("entries");
        foreach (var (name, value) in StatsEntries.Expand(bucket.Leaves))
        {
            w.WriteNumber(name, value);
        }

        w.WriteEndObject();
        w.WriteEndObject();
    }

    private static async Task PostFixturesAsync(HttpContext context, RestAuthentication authentication, IStatsStore store, IOptions<TokenWireOptions> options)
    {
        var auth = authentication.Authenticate(context.Request);
        if (auth.IsToken)
        {
            throw new ProtocolException(ErrorCodes.RequiresBasicAuth, "Stats fixtures need Basic authentication with one of the app's keys");
        }

        var body = await RestBody.ReadJsonAsync(context.Request, options.Value.Limits.MaxFrameSize, context.RequestAborted);
        if (body.ValueKind != JsonValueKind.Array)
        {
            throw new ProtocolException(ErrorCodes.InvalidRequestBody, "Stats fixtures must be an array of stats records");
        }

        var fixtures = new List<(long Minute, Dictionary<string, long> Leaves)>();
        foreach (var record in body.EnumerateArray())
        {
            if (record.ValueKind != JsonValueKind.Object
                || !record.TryGetProperty("intervalId", out var id) || id.ValueKind != JsonValueKind.String
                || !StatsIntervals.TryParseIntervalId(id.GetString()!, out var start, out _))
            {
                throw new ProtocolException(ErrorCodes.InvalidRequestBody, "Each stats record needs an intervalId such as 2025-02-03:15:04");
            }

            fixtures.Add((start, StatsEntries.FromFixture(record)));
        }

        foreach (var (minute, leaves) in fixtures)
        {
            await store.AddAsync(auth.App.Id, minute, leaves, context.RequestAborted);
        }

        context.Response.StatusCode = StatusCodes.Status201Created;
    }
}
