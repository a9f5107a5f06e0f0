using System.Globalization;
using TokenWire.Protocol;

namespace TokenWire.Server.Connections;

/// <summary>MESSAGE from the client: rate limit, publish, then ACK or NACK in msgSerial order (reference §4.4).</summary>
public sealed partial class RealtimeTransport
{
    private async Task HandlePublishAsync(ProtocolMessage message, CancellationToken cancellationToken)
    {
        if (message.MsgSerial is not { } msgSerial)
        {
            Fail(ErrorCodes.Create(ErrorCodes.ProtocolError, "MESSAGE without msgSerial"));
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

        if (_attachments.TryGetValue(message.Channel, out var attachment) && !attachment.ModesAllow(ProtocolFlags.Publish))
        {
            Nack(message, ErrorCodes.Create(ErrorCodes.OperationNotPermitted, $"Channel '{message.Channel}' was attached without publish mode"));
            return;
        }

        // Ids are connectionId:msgSerial:index, so a retransmission after a resume carries the same ids and the
        // log's idempotency turns it into an ACK of the original serials, never a second delivery.
        var prefix = string.Concat(Connection.Id, ":", msgSerial.ToString(CultureInfo.InvariantCulture), ":");
        for (var i = 0; i < messages.Count; i++)
        {
            messages[i].Id ??= prefix + i.ToString(CultureInfo.InvariantCulture);
        }

        // Issued now, in msgSerial order (the append is started before PublishCoreAsync first yields); acknowledged later.
        _acknowledgements.Enqueue(msgSerial, HasMutation(messages)
            ? MutateCoreAsync(message.Channel, messages, cancellationToken)
            : PublishCoreAsync(message.Channel, messages, cancellationToken));
        await _acknowledgements.WaitForRoomAsync().ConfigureAwait(false);
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

        var result = await _services.Mutator.MutateAsync(Connection.Auth, channel, messages[0], Connection.Id, cancellationToken, AppendRollupWindow).ConfigureAwait(false);
        return new PublishResult(result.Serials);
    }
}
