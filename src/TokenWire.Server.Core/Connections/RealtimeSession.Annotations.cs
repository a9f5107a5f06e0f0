using TokenWire.Protocol;
using TokenWire.Server.Publishing;

namespace TokenWire.Server.Connections;

/// <summary>
/// ANNOTATION from the client (spec RTAN1): <c>channel.annotations.publish/delete</c>, each annotation published in
/// turn, answered ACK or NACK in msgSerial order like a MESSAGE. A refused annotation NACKs; the connection carries on.
/// </summary>
public sealed partial class RealtimeSession
{
    private async Task HandleAnnotationAsync(ProtocolMessage message, CancellationToken cancellationToken)
    {
        if (!TryGetMsgSerial(message, out var msgSerial))
        {
            return;
        }

        var annotations = message.Annotations ?? [];
        if (RateLimited(message, annotations.Count))
        {
            return;
        }

        if (message.Channel is not { } channel || channel.StartsWith('['))
        {
            Nack(message, ErrorCodes.Create(ErrorCodes.InvalidChannelName, "ANNOTATION needs the channel's plain name"));
            return;
        }

        if (_attachments.TryGet(channel, out var attachment) && !attachment.ModesAllow(ProtocolFlags.AnnotationPublish))
        {
            Nack(message, ErrorCodes.Create(ErrorCodes.OperationNotPermitted, $"Channel '{channel}' was attached without annotation_publish mode"));
            return;
        }

        for (var i = 0; i < annotations.Count; i++)
        {
            annotations[i].Id ??= MessageIds.ForRealtime(Connection.Id, msgSerial, i);
        }

        await AcknowledgeAsync(msgSerial, PublishAnnotationsAsync(channel, annotations, cancellationToken), channel).ConfigureAwait(false);
    }

    private async ValueTask<PublishResult?> PublishAnnotationsAsync(string channel, IReadOnlyList<Annotation> annotations, CancellationToken cancellationToken)
    {
        if (annotations.Count == 0)
        {
            throw new ProtocolException(ErrorCodes.BadRequest, "ANNOTATION without annotations");
        }

        foreach (var annotation in annotations)
        {
            await _services.Annotations.PublishAsync(Connection.Auth, channel, annotation, Connection.Id, cancellationToken).ConfigureAwait(false);
        }

        return null;
    }
}
