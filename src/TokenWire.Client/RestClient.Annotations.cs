using System.Buffers;
using System.Globalization;
using TokenWire.Client.Internal;
using TokenWire.Protocol;

namespace TokenWire.Client;

/// <summary>
/// Annotations over REST (spec RSAN, reference §5.2): <c>POST /channels/{name}/messages/{serial}/annotations</c>
/// publishes (a delete is an annotation with action <c>annotation.delete</c>), <c>GET</c> on the same path pages
/// through the message's annotations oldest first.
/// </summary>
public sealed partial class RestClient
{
    /// <summary>Annotates the message with <paramref name="messageSerial"/> (see <see cref="Messages.CreateAnnotation"/>).</summary>
    public Task PublishAnnotationAsync(string channel, string messageSerial, Annotation annotation, CancellationToken cancellationToken = default) =>
        SendAnnotationAsync(channel, RealtimeAnnotations.Prepare(messageSerial, annotation, AnnotationActions.Create), cancellationToken);

    /// <summary>Deletes this client's annotation of the same type (and name) from the message's summary.</summary>
    public Task DeleteAnnotationAsync(string channel, string messageSerial, Annotation annotation, CancellationToken cancellationToken = default) =>
        SendAnnotationAsync(channel, RealtimeAnnotations.Prepare(messageSerial, annotation, AnnotationActions.Delete), cancellationToken);

    /// <summary>A page of the message's annotations, oldest first; follow <see cref="PaginatedResult{T}.NextAsync"/> for more.</summary>
    public Task<PaginatedResult<Annotation>> GetAnnotationsAsync(string channel, string messageSerial, int? limit = null, CancellationToken cancellationToken = default)
    {
        ValidateChannel(channel);
        ArgumentException.ThrowIfNullOrEmpty(messageSerial);
        if (limit is { } value)
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, 1, nameof(limit));
        }

        var query = limit is { } l ? "limit=" + l.ToString(CultureInfo.InvariantCulture) : "";
        return FetchAnnotationPageAsync(AnnotationsPath(channel, messageSerial), query, cancellationToken);
    }

    private async Task SendAnnotationAsync(string channel, Annotation annotation, CancellationToken cancellationToken)
    {
        ValidateChannel(channel);
        var body = new ArrayBufferWriter<byte>(256);
        _codec.WriteAnnotations([annotation], body);
        await SendAsync(HttpMethod.Post, AnnotationsPath(channel, annotation.MessageSerial!), body.WrittenSpan.ToArray(), authenticate: true, acceptJson: false, cancellationToken).ConfigureAwait(false);
    }

    private async Task<PaginatedResult<Annotation>> FetchAnnotationPageAsync(string path, string query, CancellationToken cancellationToken)
    {
        var response = await SendAsync(HttpMethod.Get, query.Length == 0 ? path : $"{path}?{query}", body: null, authenticate: true, acceptJson: false, cancellationToken).ConfigureAwait(false);
        List<Annotation> items = [];
        if (response.Body.Length > 0)
        {
            var codec = RestBodies.IsMessagePack(response.ContentType) ? ProtocolCodecs.MessagePackFromServer : ProtocolCodecs.JsonFromServer;
            try
            {
                items = [.. codec.ReadAnnotations(new ReadOnlySequence<byte>(response.Body))];
            }
            catch (ProtocolException ex)
            {
                throw new AblyException(ex.Error, ex);
            }
        }

        foreach (var annotation in items)
        {
            PayloadCodec.Decode(annotation);
        }

        var next = LinkHeader.NextQuery(response.Links);
        return new PaginatedResult<Annotation>(items, next, (nextQuery, ct) => FetchAnnotationPageAsync(path, nextQuery, ct));
    }

    private static string AnnotationsPath(string channel, string messageSerial) => MessagePath(channel, messageSerial) + "/annotations";
}
