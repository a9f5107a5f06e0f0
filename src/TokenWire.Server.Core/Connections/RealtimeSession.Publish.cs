using TokenWire.Server.Publishing;
using TokenWire.Protocol;

namespace TokenWire.Server.Connections;

/// <summary>MESSAGE from the client: rate limit, publish, then ACK or NACK in msgSerial order (reference §4.4).</summary>
public sealed partial class RealtimeSession
{
    private async Task HandlePublishAsync(ProtocolMessage message, CancellationToken cancellationToken)
    {
        if (!TryGetMsgSerial(message, out var msgSerial))
        {
            return;
        }

        var messages = message.Messages ?? [];
        if (RateLimited(message, messages.Count))
        {
            return;
        }

        if (message.Channel is null)
        {
            Nack(message, ErrorCodes.Create(ErrorCodes.InvalidChannelName, "MESSAGE without a channel"));
            return;
        }

        if (_attachments.TryGet(message.Channel, out var attachment) && !attachment.ModesAllow(ProtocolFlags.Publish))
        {
            Nack(message, ErrorCodes.Create(ErrorCodes.OperationNotPermitted, $"Channel '{message.Channel}' was attached without publish mode"));
            return;
        }

        MessageIds.AssignMissing(messages, MessageIds.RealtimeBase(Connection.Id, msgSerial));

        // Issued now, in msgSerial order (the append is started before PublishCoreAsync first yields); acknowledged later.
        await AcknowledgeAsync(msgSerial, HasMutation(messages)
            ? MutateCoreAsync(message.Channel, messages, cancellationToken)
            : PublishCoreAsync(message.Channel, messages, cancellationToken)).ConfigureAwait(false);
    }

    private async Task<PublishResult?> PublishCoreAsync(string channel, IReadOnlyList<Message> messages, CancellationToken cancellationToken)
    {
        var result = await _services.Publisher.PublishAsync(Connection.Auth, channel, messages, Connection.Id, cancellationToken).ConfigureAwait(false);
        return new PublishResult(result.Serials);
    }

    private static bool HasMutation(IReadOnlyList<Message> messages)
    {
        foreach (var message in messages)
        {
            if (MessageActions.IsMutation(message.Action))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>updateMessage/deleteMessage/appendMessage send one message per MESSAGE; ACK res = the version serial.</summary>
    private async Task<PublishResult?> MutateCoreAsync(string channel, IReadOnlyList<Message> messages, CancellationToken cancellationToken)
    {
        if (messages.Count != 1)
        {
            throw new ProtocolException(ErrorCodes.BadRequest, "An update, delete or append must be the only message of its MESSAGE");
        }

        var result = await _services.Mutator.MutateAsync(Connection.Auth, channel, messages[0], Connection.Id, cancellationToken, _appendRollupWindow).ConfigureAwait(false);
        return new PublishResult(result.Serials);
    }
}
