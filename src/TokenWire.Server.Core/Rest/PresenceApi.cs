using System.Globalization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Options;
using TokenWire.Protocol;
using TokenWire.Server.Auth;
using TokenWire.Server.Channels;
using TokenWire.Server.Configuration;
using TokenWire.Server.Diagnostics;
using TokenWire.Server.Engine;
using TokenWire.Server.Log;
using TokenWire.Server.Presence;
using TokenWire.Server.Stats;

namespace TokenWire.Server.Rest;

/// <summary>
/// REST presence (reference §5.6): <c>GET /channels/{name}/presence</c>, the current members as PRESENT messages
/// (subscribe capability; <c>limit</c>, <c>clientId</c>, <c>connectionId</c>; paged by member key), and
/// <c>GET /channels/{name}/presence/history</c>, the channel's presence events with the history query and paging of
/// message history (history capability).
/// </summary>
public static class PresenceApi
{
    public static IEndpointRouteBuilder MapPresenceApi(this IEndpointRouteBuilder routes)
    {
        routes.MapGet("/channels/{channel}/presence", MembersAsync);
        routes.MapGet("/channels/{channel}/presence/history", HistoryAsync);
        return routes;
    }

    private static async Task MembersAsync(HttpContext context, string channel, RestAuthentication authentication, PresenceService presence, IOptions<TokenWireOptions> options, StatsRecorder stats)
    {
        var auth = authentication.Authenticate(context.Request);
        ChannelNames.Validate(channel);
        RestApi.Require(auth, channel, ChannelOperation.Subscribe, "subscribe");
        var query = context.Request.Query;
        var limit = ParseLimit(query["limit"], options.Value.Limits.HistoryMaxLimit);
        string? clientId = query["clientId"];
        string? connectionId = query["connectionId"];
        string? after = query["cursor"];
        var members = await presence.Store.GetMembersAsync(new ChannelKey(auth.App.Id, channel), context.RequestAborted);
        var matching = members
            .Where(m => (clientId is null || m.ClientId == clientId) && (connectionId is null || m.ConnectionId == connectionId))
            .Where(m => after is null || string.CompareOrdinal(m.MemberKey, after) > 0)
            .Take(limit + 1)
            .ToList();
        var page = matching.Take(limit).ToList();
        context.Response.Headers.Link = Link(limit, clientId, connectionId, matching.Count > limit ? page[^1].MemberKey : null);
        var messages = page.Select(m => m.ToMessage()).ToList();
        stats.For(auth.App.Id).Add(StatsCounter.OutboundRestPresenceCount, messages.Count, StatsCounter.OutboundRestPresenceData, messages.Sum(m => (long)m.Size));
        await RestResponses.WriteMessagesAsync(context, messages);
    }

    private static async Task HistoryAsync(HttpContext context, string channel, RestAuthentication authentication, IMessageLog log, IOptions<TokenWireOptions> options, MessageMetrics metrics)
    {
        var auth = authentication.Authenticate(context.Request);
        ChannelNames.Validate(channel);
        RestApi.Require(auth, channel, ChannelOperation.History, "history");
        var query = HistoryRequest.Parse(context.Request.Query, options.Value.Limits.HistoryMaxLimit);
        var page = await HistoryRequest.ReadPageAsync(log, PresenceService.HistoryKey(new ChannelKey(auth.App.Id, channel)), channel, query, presence: true, metrics, context.RequestAborted);
        context.Response.Headers.Link = HistoryRequest.Link("history", query, page.Next);

        // The log's serial orders the events; presence messages have no serial field of their own.
        var events = page.Entries.Select(e =>
        {
            var message = e.Message.Clone();
            message.Serial = null;
            return message;
        }).ToList();
        await RestResponses.WriteMessagesAsync(context, events);
    }

    private static int ParseLimit(string? value, int max)
    {
        if (value is null)
        {
            return HistoryRequest.DefaultLimit;
        }

        if (!int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var limit) || limit < 1 || limit > max)
        {
            throw new ProtocolException(ErrorCodes.InvalidParameterValue, $"Invalid limit '{value}': use 1 to {max}");
        }

        return limit;
    }

    private static string Link(int limit, string? clientId, string? connectionId, string? nextAfter)
    {
        var first = "limit=" + limit.ToString(CultureInfo.InvariantCulture)
            + (clientId is null ? string.Empty : "&clientId=" + Uri.EscapeDataString(clientId))
            + (connectionId is null ? string.Empty : "&connectionId=" + Uri.EscapeDataString(connectionId));
        var link = $"<./presence?{first}>; rel=\"first\", <./presence?{first}>; rel=\"current\"";
        return nextAfter is null ? link : link + $", <./presence?{first}&cursor={Uri.EscapeDataString(nextAfter)}>; rel=\"next\"";
    }
}
