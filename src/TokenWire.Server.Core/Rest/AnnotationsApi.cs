using System.Buffers;
using System.Globalization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Options;
using TokenWire.Protocol;
using TokenWire.Protocol.Json;
using TokenWire.Protocol.MessagePack;
using TokenWire.Server.Annotations;
using TokenWire.Server.Auth;
using TokenWire.Server.Channels;
using TokenWire.Server.Configuration;
using TokenWire.Server.Engine;
using TokenWire.Server.Publishing;

namespace TokenWire.Server.Rest;

/// <summary>
/// Annotations over REST (spec RSAN1, RSAN3): <c>POST /channels/{name}/messages/{serial}/annotations</c> publishes one
/// annotation or an array of them (a delete is one with action 1), <c>GET</c> lists the message's annotations oldest
/// first, paged by <c>limit</c> with a <c>Link</c> to the next page.
/// </summary>
public static class AnnotationsApi
{
    public static IEndpointRouteBuilder MapAnnotations(this IEndpointRouteBuilder routes)
    {
        routes.MapPost("/channels/{channel}/messages/{serial}/annotations", PublishAsync);
        routes.MapGet("/channels/{channel}/messages/{serial}/annotations", ListAsync);
        return routes;
    }

    private static async Task PublishAsync(HttpContext context, string channel, string serial, RestAuthentication authentication, AnnotationPublisher publisher, IOptions<TokenWireOptions> options)
    {
        var auth = authentication.Authenticate(context.Request);
        var body = await RestBody.ReadAsync(context.Request, options.Value.Limits.MaxFrameSize, context.RequestAborted);
        var annotations = body.Length == 0 ? [] : ProtocolCodecs.For(RestFormat.ForBody(context.Request)).ReadAnnotations(new ReadOnlySequence<byte>(body));
        if (annotations.Count == 0)
        {
            throw new ProtocolException(ErrorCodes.InvalidRequestBody, "The body must be an annotation or an array of annotations");
        }

        var idBase = MessageIds.NewRestBase();
        var serials = new List<string?>(annotations.Count);
        for (var i = 0; i < annotations.Count; i++)
        {
            var annotation = annotations[i];
            annotation.MessageSerial = serial;
            annotation.Id ??= MessageIds.For(idBase, i);
            serials.Add((await publisher.PublishAsync(auth, channel, annotation, connectionId: null, context.RequestAborted)).Annotation.Serial);
        }

        await RestResponses.WriteJsonAsync(context, StatusCodes.Status201Created, w =>
        {
            w.WriteStartObject();
            w.WriteStartArray("serials");
            foreach (var annotationSerial in serials)
            {
                w.WriteStringValue(annotationSerial);
            }

            w.WriteEndArray();
            w.WriteEndObject();
        });
    }

    private static async Task ListAsync(HttpContext context, string channel, string serial, RestAuthentication authentication, IAnnotationStore store, IOptions<TokenWireOptions> options)
    {
        var auth = authentication.Authenticate(context.Request);
        ChannelNames.Validate(channel);
        RestApi.Require(auth, channel, ChannelOperation.AnnotationSubscribe, "annotation-subscribe");
        var maxLimit = options.Value.Limits.HistoryMaxLimit;
        var limit = ParseInt(context.Request.Query, "limit", HistoryRequest.DefaultLimit, 1, maxLimit);
        var start = ParseInt(context.Request.Query, "start", 0, 0, int.MaxValue);
        await RestPaging.WriteAsync(
            context,
            limit,
            n => store.ReadAsync(new ChannelKey(auth.App.Id, channel), serial, start, n, context.RequestAborted),
            page => $"<./annotations?limit={limit}>; rel=\"first\", <./annotations?limit={limit}&start={start}>; rel=\"current\""
                + (page.HasNext ? $", <./annotations?limit={limit}&start={start + limit}>; rel=\"next\"" : string.Empty),
            items => RestResponses.WriteAnnotationsAsync(context, items));
    }

    private static int ParseInt(IQueryCollection query, string name, int fallback, int min, int max)
    {
        if (!query.TryGetValue(name, out var text) || string.IsNullOrEmpty(text))
        {
            return fallback;
        }

        return int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value) && value >= min && value <= max
            ? value
            : throw new ProtocolException(ErrorCodes.InvalidParameterValue, $"{name} must be an integer from {min} to {max}");
    }
}
