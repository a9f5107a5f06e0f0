using System.Buffers;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Options;
using TokenWire.Protocol;
using TokenWire.Server.Annotations;
using TokenWire.Server.Auth;
using TokenWire.Server.Channels;
using TokenWire.Server.Configuration;
using TokenWire.Server.Connections;
using TokenWire.Server.Diagnostics;
using TokenWire.Server.Engine;
using TokenWire.Server.Log;
using TokenWire.Server.Presence;
using TokenWire.Server.Publishing;
using TokenWire.Server.Stats;

namespace TokenWire.Server.Rest;

/// <summary>The Ably REST endpoints (reference §5.2) that the SDK's realtime and REST clients use.</summary>
public static class RestApi
{
    public static IEndpointRouteBuilder MapAblyRest(this IEndpointRouteBuilder routes)
    {
        routes.MapGet("/time", (HttpContext context) =>
            RestResponses.WriteJsonAsync(context, 200, w =>
            {
                w.WriteStartArray();
                w.WriteNumberValue(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
                w.WriteEndArray();
            }));

        routes.MapGet("/is-the-internet-up.txt", () => Results.Text("yes\n", "text/plain"));
        routes.MapGet("/channels/{channel}/messages", HistoryAsync);
        routes.MapPost("/channels/{channel}/messages", PublishAsync);
        routes.MapGet("/channels/{channel}", StatusAsync);
        routes.MapMutableMessages();
        routes.MapAnnotations();
        return routes;
    }

    private static async Task HistoryAsync(HttpContext context, string channel, RestAuthentication authentication, IMessageLog log, IOptions<TokenWireOptions> options, MessageMetrics metrics, StatsRecorder stats, SummaryReader summaries)
    {
        var auth = authentication.Authenticate(context.Request);
        channel = Unqualified(channel);
        Require(auth, channel, ChannelOperation.History, "history");
        var query = HistoryRequest.Parse(context.Request.Query, options.Value.Limits.HistoryMaxLimit);
        var page = await HistoryRequest.ReadPageAsync(log, new ChannelKey(auth.App.Id, channel), channel, query, presence: false, metrics, context.RequestAborted);
        context.Response.Headers.Link = HistoryRequest.Link("messages", query, page.Next);
        // Written from the log's stored bytes where it gives them, like a resume's replay: no message decoded for it.
        var messages = new HistoryMessages(page.Entries, await summaries.ForEntriesAsync(auth.App, channel, page.Entries, context.RequestAborted));
        stats.For(auth.App.Id).Add(StatsCounter.OutboundRestMessagesCount, messages.Count, StatsCounter.OutboundRestMessagesData, messages.Size());
        await RestResponses.WriteHistoryAsync(context, messages);
    }

    private static async Task PublishAsync(HttpContext context, string channel, RestAuthentication authentication, ChannelPublisher publisher, IConnectionStore connections, IOptions<TokenWireOptions> options)
    {
        var auth = authentication.Authenticate(context.Request);
        channel = Unqualified(channel);
        var body = await RestBody.ReadAsync(context.Request, options.Value.Limits.MaxFrameSize, context.RequestAborted);
        if (body.Length == 0)
        {
            throw new ProtocolException(ErrorCodes.InvalidRequestBody, "Publish body is empty: send a message or an array of messages");
        }

        var messages = ProtocolCodecs.For(RestFormat.ForBody(context.Request)).ReadMessages(new ReadOnlySequence<byte>(body));
        if (messages.Count == 0)
        {
            throw new ProtocolException(ErrorCodes.InvalidRequestBody, "Publish body has no messages");
        }

        MessageIds.AssignForRest(messages);

        await AttributeToConnectionsAsync(auth, messages, connections, context.RequestAborted);
        var result = await publisher.PublishAsync(auth, channel, messages, connectionId: null, context.RequestAborted);
        var messageId = MessageIds.BaseOf(messages[0].Id);
        await RestResponses.WriteJsonAsync(context, StatusCodes.Status201Created, w =>
        {
            w.WriteStartObject();
            w.WriteString("channel", channel);
            w.WriteString("messageId", messageId);
            w.WriteStartArray("serials");
            foreach (var serial in result.Serials)
            {
                w.WriteStringValue(serial);
            }

            w.WriteEndArray();
            w.WriteEndObject();
        });
    }

    /// <summary>
    /// Publishing on behalf of a realtime connection (spec TM2h): a message carrying that connection's key is attributed
    /// to it (its <c>connectionId</c>); the key must belong to a live or resumable connection of the same app (40006).
    /// Any <c>connectionId</c> a REST body claims is dropped, so only a key can attribute a message.
    /// </summary>
    private static async Task AttributeToConnectionsAsync(AuthContext auth, IReadOnlyList<Message> messages, IConnectionStore connections, CancellationToken cancellationToken)
    {
        foreach (var message in messages)
        {
            message.ConnectionId = null;
            if (message.ConnectionKey is not { } key)
            {
                continue;
            }

            var connection = await connections.FindAsync(ConnectionIds.ParseKey(key).BaseKey, cancellationToken);
            if (connection is null || connection.Auth.App != auth.App)
            {
                throw new ProtocolException(ErrorCodes.InvalidConnectionKeyOnMessage, "Invalid connectionKey: no such connection");
            }

            message.ConnectionId = connection.Id;
        }
    }

    /// <summary>
    /// The channel a REST request on a qualified name addresses: <c>[?params]name</c> is <c>name</c> (params belong to
    /// an attachment, which REST has none of); a subscription filter only applies to a realtime attachment (40010).
    /// </summary>
    private static string Unqualified(string channel)
    {
        var qualified = QualifiedChannelName.Parse(channel);
        return qualified.Filter is null
            ? qualified.Name
            : throw new ProtocolException(ErrorCodes.InvalidChannelName, $"Invalid channel name '{channel}': subscription filters apply to realtime attachments only; use '{qualified.Name}'");
    }

    private static async Task StatusAsync(HttpContext context, string channel, RestAuthentication authentication, LocalChannels channels, IMessageLog log, PresenceService presence)
    {
        var auth = authentication.Authenticate(context.Request);
        ChannelNames.Validate(channel);
        Require(auth, channel, ChannelOperation.ChannelMetadata, "channel-metadata");
        var key = new ChannelKey(auth.App.Id, channel);
        var occupancy = channels.Find(key)?.Occupancy ?? new ChannelOccupancy();
        var head = await log.GetHeadAsync(key, context.RequestAborted);
        var members = await presence.Store.GetMembersAsync(key, context.RequestAborted);
        await RestResponses.WriteJsonAsync(context, 200, w =>
        {
            w.WriteStartObject();
            w.WriteString("channelId", channel);
            w.WriteString("name", channel);
            w.WriteStartObject("status");
            w.WriteBoolean("isActive", occupancy.Connections > 0 || head.Offset > 0);
            w.WriteStartObject("occupancy");
            w.WriteStartObject("metrics");
            w.WriteNumber("connections", occupancy.Connections);
            w.WriteNumber("presenceConnections", members.Select(m => m.ConnectionId).Distinct(StringComparer.Ordinal).Count());
            w.WriteNumber("presenceMembers", members.Count);
            w.WriteNumber("presenceSubscribers", occupancy.PresenceSubscribers);
            w.WriteNumber("publishers", occupancy.Publishers);
            w.WriteNumber("subscribers", occupancy.Subscribers);
            w.WriteEndObject();
            w.WriteEndObject();
            w.WriteEndObject();
            w.WriteEndObject();
        });
    }

    internal static void Require(AuthContext auth, string channel, ChannelOperation operation, string name)
    {
        if (!auth.Capability.Allows(channel, operation))
        {
            throw new ProtocolException(ErrorCodes.OperationNotPermitted, $"Permission denied: no {name} capability on channel '{channel}'");
        }
    }
}
