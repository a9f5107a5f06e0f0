using System.Buffers;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Options;
using TokenWire.Protocol;
using TokenWire.Protocol.Serials;
using TokenWire.Server.Annotations;
using TokenWire.Server.Auth;
using TokenWire.Server.Channels;
using TokenWire.Server.Configuration;
using TokenWire.Server.Engine;
using TokenWire.Server.Log;
using TokenWire.Server.Publishing;

namespace TokenWire.Server.Rest;

/// <summary>
/// Message updates, deletes and appends over REST, and reading a message's latest form and versions (reference §5.2:
/// <c>PATCH|GET /channels/{name}/messages/{serial}</c>, <c>GET …/{serial}/versions</c>).
/// </summary>
public static class MutableMessagesApi
{
    public static IEndpointRouteBuilder MapMutableMessages(this IEndpointRouteBuilder routes)
    {
        routes.MapMethods("/channels/{channel}/messages/{serial}", ["PATCH"], MutateAsync);
        routes.MapGet("/channels/{channel}/messages/{serial}", GetAsync);
        routes.MapGet("/channels/{channel}/messages/{serial}/versions", VersionsAsync);
        return routes;
    }

    private static async Task MutateAsync(HttpContext context, string channel, string serial, RestAuthentication authentication, MessageMutator mutator, IOptions<TokenWireOptions> options)
    {
        var auth = authentication.Authenticate(context.Request);
        var body = await RestBody.ReadAsync(context.Request, options.Value.Limits.MaxFrameSize, context.RequestAborted);
        var messages = body.Length == 0 ? [] : ProtocolCodecs.For(RestFormat.ForBody(context.Request)).ReadMessages(new ReadOnlySequence<byte>(body));
        if (messages.Count != 1)
        {
            throw new ProtocolException(ErrorCodes.InvalidRequestBody, "The body must be one message with its action (message.update, message.delete or message.append)");
        }

        var operation = messages[0];
        operation.Serial = serial;
        var result = await mutator.MutateAsync(auth, channel, operation, connectionId: null, context.RequestAborted);
        await RestResponses.WriteJsonAsync(context, StatusCodes.Status200OK, w =>
        {
            w.WriteStartObject();
            w.WriteString("versionSerial", result.Serials[0]);
            w.WriteEndObject();
        });
    }

    private static async Task GetAsync(HttpContext context, string channel, string serial, RestAuthentication authentication, IMessageLog log, SummaryReader summaries)
    {
        var versions = await ReadAsync(context, channel, serial, authentication, log);
        var auth = authentication.Authenticate(context.Request);
        var latest = await summaries.WithSummariesAsync(auth.App, channel, [versions.Latest()], context.RequestAborted);
        await RestResponses.WriteMessageAsync(context, latest[0]);
    }

    /// <summary>The message as created, then each version as it was broadcast, oldest first unless backwards.</summary>
    private static async Task VersionsAsync(HttpContext context, string channel, string serial, RestAuthentication authentication, IMessageLog log, IOptions<TokenWireOptions> options)
    {
        var versions = await ReadAsync(context, channel, serial, authentication, log);
        var query = HistoryRequest.Parse(context.Request.Query, options.Value.Limits.HistoryMaxLimit);
        var all = new List<LogEntry>(versions.Versions.Count + 1) { versions.Original };
        all.AddRange(versions.Versions);
        if (!query.Forwards)
        {
            all.Reverse();
        }

        var start = query.Cursor is { } cursor ? all.FindIndex(e => e.Offset == cursor.Offset) : 0;
        var page = all.Skip(Math.Max(start, 0)).Take(query.Limit + 1).ToList();
        LogPosition? next = page.Count > query.Limit ? new LogPosition(query.Cursor?.Epoch ?? EpochOf(serial), page[^1].Offset) : null;
        if (next is not null)
        {
            page.RemoveAt(page.Count - 1);
        }

        context.Response.Headers.Link = HistoryRequest.Link("versions", query, next);
        await RestResponses.WriteMessagesAsync(context, page.Select(e => e.Message).ToList());
    }

    private static async Task<MessageVersions> ReadAsync(HttpContext context, string channel, string serial, RestAuthentication authentication, IMessageLog log)
    {
        var auth = authentication.Authenticate(context.Request);
        ChannelNames.Validate(channel);
        RestApi.Require(auth, channel, ChannelOperation.History, "history");
        if (!LogPosition.TryParse(serial, out var position))
        {
            throw MutationRules.NotFound(serial);
        }

        return await log.ReadMessageAsync(new ChannelKey(auth.App.Id, channel), position, context.RequestAborted)
            ?? throw MutationRules.NotFound(serial);
    }

    private static string EpochOf(string serial) => LogPosition.TryParse(serial, out var position) ? position.Epoch : string.Empty;
}
