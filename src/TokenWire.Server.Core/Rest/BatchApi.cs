using System.Buffers;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Options;
using TokenWire.Protocol;
using TokenWire.Protocol.Json;
using TokenWire.Server.Auth;
using TokenWire.Server.Channels;
using TokenWire.Server.Configuration;
using TokenWire.Server.Connections;
using TokenWire.Server.Engine;
using TokenWire.Server.Presence;
using TokenWire.Server.Publishing;

namespace TokenWire.Server.Rest;

/// <summary>
/// Ably's batch endpoints (reference §5.2): <c>POST /messages</c> publishes each spec's messages to each of its
/// channels and <c>GET /presence?channels=a,b</c> reads several member sets. Every channel succeeds or fails on its
/// own (rights, names, sizes), reported per channel; only a malformed request fails as a whole.
/// </summary>
public static class BatchApi
{
    /// <summary>Channel publishes one request may ask for, bounding the work a single call can cause.</summary>
    public const int MaxChannelsPerRequest = 100;

    public static IEndpointRouteBuilder MapBatchApi(this IEndpointRouteBuilder routes)
    {
        routes.MapPost("/messages", PublishAsync);
        routes.MapGet("/presence", PresenceAsync);
        return routes;
    }

    private static async Task PublishAsync(HttpContext context, RestAuthentication authentication, ChannelPublisher publisher, IOptions<TokenWireOptions> options)
    {
        var auth = authentication.Authenticate(context.Request);
        var body = await RestBody.ReadAsync(context.Request, options.Value.Limits.MaxFrameSize, context.RequestAborted);
        var specs = ProtocolCodecs.For(RestFormat.ForBody(context.Request)).ReadBatchPublish(new ReadOnlySequence<byte>(body));
        if (specs.Sum(s => s.Channels.Count) > MaxChannelsPerRequest)
        {
            throw new ProtocolException(ErrorCodes.InvalidRequestBody, $"A batch publish may name at most {MaxChannelsPerRequest} channels in all");
        }

        var results = new List<List<(string Channel, AppendOutcome Outcome)>>(specs.Count);
        foreach (var spec in specs)
        {
            if (spec.Channels.Count == 0 || spec.Messages.Count == 0)
            {
                throw new ProtocolException(ErrorCodes.InvalidRequestBody, "Each batch spec needs channels and messages");
            }

            var outcomes = new List<(string, AppendOutcome)>(spec.Channels.Count);
            foreach (var channel in spec.Channels)
            {
                outcomes.Add((channel, await PublishOneAsync(auth, channel, spec.Messages, publisher, context.RequestAborted)));
            }

            results.Add(outcomes);
        }

        if (UsesLegacyShape(context.Request))
        {
            await WriteLegacyAsync(context, results.SelectMany(r => r).ToList());
            return;
        }

        await RestResponses.WriteJsonAsync(context, StatusCodes.Status201Created, w =>
        {
            w.WriteStartArray();
            foreach (var outcomes in results)
            {
                WriteBatchResult(w, outcomes, static (w, channel, outcome) =>
                {
                    w.WriteString("messageId", outcome.MessageId);
                    w.WriteStartArray("serials");
                    foreach (var serial in outcome.Serials!)
                    {
                        w.WriteStringValue(serial);
                    }

                    w.WriteEndArray();
                });
            }

            w.WriteEndArray();
        });
    }

    /// <summary>
    /// API versions before 3 (what <c>rest.request('POST', '/messages', 2, …)</c> sends) answer a flat array of
    /// per-channel results, 201 when all succeeded, else 400 with 40020 (partial failure).
    /// </summary>
    private static bool UsesLegacyShape(HttpRequest request) =>
        int.TryParse(request.Headers["X-Ably-Version"].ToString(), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var version)
        && version < 3;

    private static Task WriteLegacyAsync(HttpContext context, List<(string Channel, AppendOutcome Outcome)> outcomes)
    {
        var failed = outcomes.Any(o => o.Outcome.Error is not null);
        if (failed)
        {
            context.Response.Headers["X-Ably-ErrorCode"] = ErrorCodes.BatchPartialFailure.ToString(System.Globalization.CultureInfo.InvariantCulture);
            context.Response.Headers["X-Ably-ErrorMessage"] = Uri.EscapeDataString("Batched response includes errors");
        }

        return RestResponses.WriteJsonAsync(context, failed ? StatusCodes.Status400BadRequest : StatusCodes.Status201Created, w =>
        {
            w.WriteStartArray();
            foreach (var (channel, outcome) in outcomes)
            {
                WriteChannelResult(w, channel, outcome, static (w, _, outcome) => w.WriteString("messageId", outcome.MessageId));
            }

            w.WriteEndArray();
        });
    }

    private sealed record AppendOutcome(string? MessageId, IReadOnlyList<string?>? Serials, ErrorInfo? Error) : IChannelOutcome;

    private static async Task<AppendOutcome> PublishOneAsync(AuthContext auth, string channel, IReadOnlyList<Message> template, ChannelPublisher publisher, CancellationToken cancellationToken)
    {
        // Each channel gets its own copies: the log stamps serials and timestamps onto what it appends.
        var messages = template.Select(m => m.Clone()).ToList();
        MessageIds.AssignForRest(messages);

        foreach (var message in messages)
        {
            message.ConnectionId = null; // only a connectionKey attributes a REST message, and batches take none
        }

        try
        {
            var result = await publisher.PublishAsync(auth, channel, messages, connectionId: null, cancellationToken);
            return new AppendOutcome(MessageIds.BaseOf(messages[0].Id), result.Serials, null);
        }
        catch (ProtocolException ex)
        {
            return new AppendOutcome(null, null, ex.Error);
        }
    }

    private static async Task PresenceAsync(HttpContext context, RestAuthentication authentication, PresenceService presence)
    {
        var auth = authentication.Authenticate(context.Request);
        var channels = context.Request.Query["channels"].ToString()
            .Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (channels.Length == 0 || channels.Length > MaxChannelsPerRequest)
        {
            throw new ProtocolException(ErrorCodes.InvalidParameterValue, $"channels: name 1 to {MaxChannelsPerRequest} channels, comma-separated");
        }

        var outcomes = new List<(string, IReadOnlyList<PresenceMessage>?, ErrorInfo?)>(channels.Length);
        foreach (var channel in channels)
        {
            try
            {
                ChannelNames.Validate(channel);
                RestApi.Require(auth, channel, ChannelOperation.Subscribe, "subscribe");
                outcomes.Add((channel, await presence.Store.GetMembersAsync(new ChannelKey(auth.App.Id, channel), context.RequestAborted), null));
            }
            catch (ProtocolException ex)
            {
                outcomes.Add((channel, null, ex.Error));
            }
        }

        await RestResponses.WriteJsonAsync(context, StatusCodes.Status200OK, w =>
            WriteBatchResult(
                w,
                outcomes.Select(o => (o.Item1, new PresenceOutcome(o.Item2, o.Item3))).ToList(),
                static (w, channel, outcome) =>
                {
                    w.WriteStartArray("presence");
                    foreach (var member in outcome.Members!)
                    {
                        JsonProtocolWriter.WriteMessage(w, member.ToMessage());
                    }

                    w.WriteEndArray();
                }));
    }

    private sealed record PresenceOutcome(IReadOnlyList<PresenceMessage>? Members, ErrorInfo? Error) : IChannelOutcome;

    /// <summary>What one channel of a batch came to: a success, or its error.</summary>
    private interface IChannelOutcome
    {
        ErrorInfo? Error { get; }
    }

    /// <summary><c>{successCount, failureCount, results: [{channel, …} | {channel, error}]}</c>.</summary>
    private static void WriteBatchResult<T>(Utf8JsonWriter w, IReadOnlyList<(string Channel, T Outcome)> outcomes, Action<Utf8JsonWriter, string, T> writeSuccess)
        where T : IChannelOutcome
    {
        w.WriteStartObject();
        w.WriteNumber("successCount", outcomes.Count(o => o.Outcome.Error is null));
        w.WriteNumber("failureCount", outcomes.Count(o => o.Outcome.Error is not null));
        w.WriteStartArray("results");
        foreach (var (channel, outcome) in outcomes)
        {
            WriteChannelResult(w, channel, outcome, writeSuccess);
        }

        w.WriteEndArray();
        w.WriteEndObject();
    }

    /// <summary><c>{channel, …}</c> on success, <c>{channel, error}</c> on failure.</summary>
    private static void WriteChannelResult<T>(Utf8JsonWriter w, string channel, T outcome, Action<Utf8JsonWriter, string, T> writeSuccess)
        where T : IChannelOutcome
    {
        w.WriteStartObject();
        w.WriteString("channel", channel);
        if (outcome.Error is { } error)
        {
            w.WritePropertyName("error");
            JsonProtocolWriter.WriteError(w, error);
        }
        else
        {
            writeSuccess(w, channel, outcome);
        }

        w.WriteEndObject();
    }
}
