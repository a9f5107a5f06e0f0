using TokenWire.Protocol;
using TokenWire.Server.Channels;
using TokenWire.Server.Engine;
using TokenWire.Server.Publishing;

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

        // A qualified name publishes to the channel itself ([?rewind=1]name to name); a filtered one cannot publish.
        var channel = message.Channel;
        if (channel.StartsWith('['))
        {
            if (!QualifiedChannelName.TryParse(channel, out var qualified, out var nameError))
            {
                Nack(message, nameError!);
                return;
            }

            if (qualified!.Filter is not null)
            {
                Nack(message, SubscribeOnlyError(channel, qualified.Name));
                return;
            }

            channel = qualified.Name;
        }

        if (_attachments.TryGet(message.Channel, out var attachment) && !attachment.ModesAllow(ProtocolFlags.Publish))
        {
            Nack(message, ErrorCodes.Create(ErrorCodes.OperationNotPermitted, $"Channel '{message.Channel}' was attached without publish mode"));
            return;
        }

        MessageIds.AssignMissing(messages, Connection.Id, msgSerial);
        var order = NextAppendOrder(channel, messages);

        // Issued now, in msgSerial order (the append is started before PublishCoreAsync first yields); acknowledged later.
        await AcknowledgeAsync(msgSerial, HasMutation(messages)
            ? MutateCoreAsync(channel, messages, order, cancellationToken)
            : PublishCoreAsync(channel, messages, order, cancellationToken), message.Channel).ConfigureAwait(false);
    }

    private async ValueTask<PublishResult?> PublishCoreAsync(string channel, IReadOnlyList<Message> messages, AppendOrder? order, CancellationToken cancellationToken)
    {
        var outcome = AppendOutcome.Unknown;
        try
        {
            var result = await _services.Publisher.PublishAsync(Connection.Auth, channel, messages, Connection.Id, cancellationToken, order).ConfigureAwait(false);
            outcome = StoredAny(result.Serials) ? AppendOutcome.Stored : AppendOutcome.NotStored;
            return new PublishResult(result.Serials);
        }
        catch (Exception ex) when (ex is not EngineUnavailableException and not OperationCanceledException)
        {
            outcome = AppendOutcome.NotStored;
            throw;
        }
        finally
        {
            order?.Settle(outcome);
        }
    }

    /// <summary>
    /// This publish's place in the connection's order on <paramref name="channel"/>, after the previous one
    /// (<see cref="AppendOrder"/>). Only stored messages order: ids are what the log checks.
    /// </summary>
    private AppendOrder? NextAppendOrder(string channel, IReadOnlyList<Message> messages)
    {
        if (messages.Count == 0 || messages[0].Id is not { } id)
        {
            return null;
        }

        _appendOrders ??= new Dictionary<string, AppendOrder>(StringComparer.Ordinal);
        _appendOrders.TryGetValue(channel, out var previous);
        if (previous is not null && previous.TryRestart(id))
        {
            // The previous one is stored and named by no one: reused, the dictionary is left as it is.
            return previous;
        }

        var order = new AppendOrder(id, previous);
        if (_appendOrders.Count >= MaxTrackedAppendOrders && previous is null)
        {
            // A connection publishing on ever new channels: forget the settled ones.
            foreach (var (name, tracked) in _appendOrders)
            {
                if (tracked.Outcome != AppendOutcome.Pending)
                {
                    _appendOrders.Remove(name);
                }
            }
        }

        _appendOrders[channel] = order;
        return order;
    }

    // Indexed, not foreach: an interface's enumerator is an allocation per publish.
    private static bool StoredAny(IReadOnlyList<string?> serials)
    {
        for (var i = 0; i < serials.Count; i++)
        {
            if (serials[i] is not null)
            {
                return true;
            }
        }

        return false;
    }

    private static bool HasMutation(IReadOnlyList<Message> messages)
    {
        for (var i = 0; i < messages.Count; i++)
        {
            if (MessageActions.IsMutation(messages[i].Action))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>updateMessage/deleteMessage/appendMessage send one message per MESSAGE; ACK res = the version serial.</summary>
    private async ValueTask<PublishResult?> MutateCoreAsync(string channel, IReadOnlyList<Message> messages, AppendOrder? order, CancellationToken cancellationToken)
    {
        var outcome = AppendOutcome.Unknown;
        try
        {
            if (messages.Count != 1)
            {
                throw new ProtocolException(ErrorCodes.BadRequest, "An update, delete or append must be the only message of its MESSAGE");
            }

            var result = await _services.Mutator.MutateAsync(Connection.Auth, channel, messages[0], Connection.Id, cancellationToken, _appendRollupWindow, order).ConfigureAwait(false);
            outcome = AppendOutcome.Stored;
            return new PublishResult(result.Serials);
        }
        catch (Exception ex) when (ex is not EngineUnavailableException and not OperationCanceledException)
        {
            outcome = AppendOutcome.NotStored;
            throw;
        }
        finally
        {
            order?.Settle(outcome);
        }
    }
}
