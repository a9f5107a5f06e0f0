using System.Globalization;
using TokenWire.Protocol;

namespace TokenWire.Server.Connections;

/// <summary>MESSAGE from the client: rate limit, publish, then ACK or NACK in msgSerial order (reference §4.4).</summary>
public sealed partial class RealtimeTransport
{
    /// <summary>
    /// Publishes a connection may have in flight (appended, not yet acknowledged) before its read loop waits. Appends
    /// are issued in msgSerial order and acknowledged in that order, so a remote log (Redis) costs one round trip per
    /// window, not per message; the bound keeps a fast publisher's memory in check.
    /// </summary>
    private const int MaxUnacknowledgedPublishes = 256;

    /// <summary>The ACK/NACK of the latest publish; each one awaits its predecessor, so they go out in msgSerial order.</summary>
    private Task _acknowledgements = Task.CompletedTask;
    private int _unacknowledged;

    private async Task HandlePublishAsync(ProtocolMessage message, CancellationToken cancellationToken)
    {
        if (message.MsgSerial is not { } msgSerial)
        {
            Fail(ErrorCodes.Create(ErrorCodes.ProtocolError, "MESSAGE without msgSerial"));
            return;
        }

        var messages = message.Messages ?? [];
        if (!_inboundRate.TryTake(messages.Count))
        {
            // Nonfatal, as in Ably: this publish is rejected, the connection and later publishes carry on.
            Nack(message, ErrorCodes.Create(
                ErrorCodes.InboundRateLimited,
                $"Rate limit exceeded; request rejected (nonfatal); metric = connection.inboundRate; permitted rate = {_services.Options.Limits.MaxInboundRate}/s"));
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
        QueueAcknowledgement(msgSerial, HasMutation(messages)
            ? MutateCoreAsync(message.Channel, messages, cancellationToken)
            : PublishCoreAsync(message.Channel, messages, cancellationToken));
        if (Volatile.Read(ref _unacknowledged) > MaxUnacknowledgedPublishes)
        {
            await _acknowledgements.ConfigureAwait(false);
        }
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

    private void QueueAcknowledgement(long msgSerial, Task<PublishResult?> outcome)
    {
        Interlocked.Increment(ref _unacknowledged);
        _acknowledgements = AcknowledgeAfterAsync(_acknowledgements, msgSerial, outcome);
    }

    private async Task AcknowledgeAfterAsync(Task previous, long msgSerial, Task<PublishResult?> outcome)
    {
        await previous.ConfigureAwait(false); // never faults: every acknowledgement handles its own outcome
        try
        {
            var result = await outcome.ConfigureAwait(false);
            // Presence ACKs carry no res (there are no serials to report).
            Send(new ProtocolMessage(ProtocolAction.Ack) { MsgSerial = msgSerial, Count = 1, Res = result is null ? null : [result] });
        }
        catch (ProtocolException ex)
        {
            Send(new ProtocolMessage(ProtocolAction.Nack) { MsgSerial = msgSerial, Count = 1, Error = ex.Error });
        }
        catch (OperationCanceledException)
        {
            // The transport is ending; the client retransmits after resuming and the log deduplicates.
        }
        catch (Exception ex)
        {
            PublishFailed(_services.Logger, ex, ConnectionId, null);
            Send(new ProtocolMessage(ProtocolAction.Nack)
            {
                MsgSerial = msgSerial,
                Count = 1,
                Error = ErrorCodes.Create(ErrorCodes.InternalChannelError, "Publish failed: internal error; retry"),
            });
        }
        finally
        {
            Interlocked.Decrement(ref _unacknowledged);
        }
    }
}
