using System.Diagnostics;
using System.Globalization;
using System.Text;
using Microsoft.AspNetCore.Http;
using TokenWire.Protocol;
using TokenWire.Protocol.Serials;
using TokenWire.Server.Channels;
using TokenWire.Server.Diagnostics;
using TokenWire.Server.Engine;
using TokenWire.Server.Log;

namespace TokenWire.Server.Rest;

/// <summary>Parses and validates history query parameters (reference §5.4) and builds the Link header (§5.5).</summary>
public static class HistoryRequest
{
    public const int DefaultLimit = 100;

    /// <summary>Reads one page from the log, timed (<c>tokenwire.history.duration</c>) and traced (<c>tokenwire.history</c>).</summary>
    public static async ValueTask<HistoryPage> ReadPageAsync(IMessageLog log, ChannelKey key, string channel, HistoryQuery query, bool presence, MessageMetrics metrics, CancellationToken cancellationToken)
    {
        using var activity = ServerTelemetry.Source.StartActivity(presence ? "tokenwire.presence_history" : "tokenwire.history");
        activity?.SetTag("messaging.destination.name", channel);
        activity?.SetTag("tokenwire.history.limit", query.Limit);
        var started = Stopwatch.GetTimestamp();
        var page = await log.ReadHistoryAsync(key, query, cancellationToken).ConfigureAwait(false);
        metrics.HistoryRead(Stopwatch.GetElapsedTime(started), presence);
        activity?.SetTag("tokenwire.history.count", page.Entries.Count);
        return page;
    }

    public static HistoryQuery Parse(IQueryCollection query, int maxLimit)
    {
        var limit = DefaultLimit;
        if (query.TryGetValue("limit", out var limitText)
            && (!int.TryParse(limitText, NumberStyles.None, CultureInfo.InvariantCulture, out limit) || limit < 1 || limit > maxLimit))
        {
            throw Invalid($"limit must be an integer from 1 to {maxLimit}");
        }

        var forwards = query["direction"].ToString() switch
        {
            "" or "backwards" => false,
            "forwards" => true,
            var other => throw Invalid($"direction must be 'forwards' or 'backwards', not '{other}'"),
        };

        var start = ParseTime(query, "start");
        var end = ParseTime(query, "end");
        if (start > end)
        {
            throw Invalid("start must not be later than end");
        }

        var until = ParsePosition(query, "from_serial") ?? ParsePosition(query, "fromSerial");
        var cursor = ParsePosition(query, "cursor");
        return new HistoryQuery(start, end, forwards, limit, until, cursor);
    }

    /// <summary>Link entries in the one shape ably-js parses: <c>&lt;./messages?query&gt;; rel="name"</c>.</summary>
    public static string Link(string resource, HistoryQuery query, LogPosition? next)
    {
        var first = Query(query, cursor: null);
        var link = $"<./{resource}?{first}>; rel=\"first\", <./{resource}?{first}>; rel=\"current\"";
        return next is { } n ? link + $", <./{resource}?{Query(query, n)}>; rel=\"next\"" : link;
    }

    private static string Query(HistoryQuery query, LogPosition? cursor)
    {
        var builder = new StringBuilder();
        builder.Append("limit=").Append(query.Limit.ToString(CultureInfo.InvariantCulture));
        builder.Append("&direction=").Append(query.Forwards ? "forwards" : "backwards");
        if (query.StartMs is { } start)
        {
            builder.Append("&start=").Append(start.ToString(CultureInfo.InvariantCulture));
        }

        if (query.EndMs is { } end)
        {
            builder.Append("&end=").Append(end.ToString(CultureInfo.InvariantCulture));
        }

        if (query.Until is { } until)
        {
            builder.Append("&from_serial=").Append(Uri.EscapeDataString(until.ToSerial()));
        }

        if (cursor is { } c)
        {
            builder.Append("&cursor=").Append(Uri.EscapeDataString(c.ToSerial()));
        }

        return builder.ToString();
    }

    private static long? ParseTime(IQueryCollection query, string name)
    {
        if (!query.TryGetValue(name, out var text) || text.ToString().Length == 0)
        {
            return null;
        }

        return long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value)
            ? value
            : throw Invalid($"{name} must be a time in milliseconds since the epoch");
    }

    private static LogPosition? ParsePosition(IQueryCollection query, string name)
    {
        if (!query.TryGetValue(name, out var text) || text.ToString().Length == 0)
        {
            return null;
        }

        // An attach serial (untilAttach) may carry an annotation mark; history needs only its position.
        return ChannelSerials.TryParse(text, out var position, out _) ? position : throw Invalid($"{name} is not a valid serial");
    }

    private static ProtocolException Invalid(string message) => new(ErrorCodes.InvalidParameterValue, "Invalid history request: " + message);
}
