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
        if (!_inboundRate.TryTake(messages.Count))
        {
            // Nonfatal, as in Ably: this publish is rejected, the connection and later publishes carry on.
            Nack(message, ErrorCodes.Create(
                ErrorCodes.InboundRateLimited,
                $"Rate limit exceeded; request rejected (nonfatal); metric = connection.inboundRate; permitted rate = {_services.Options.Limits.MaxInboundRate}/s"));
            return;
        }

        try
        {
            if (message.Channel is null)
            {
                throw new ProtocolException(ErrorCodes.InvalidChannelName, "MESSAGE without a channel");
            }

            if (_attachments.TryGetValue(message.Channel, out var attachment) && (attachment.Modes & ProtocolFlags.Publish) == 0)
            {
                throw new ProtocolException(ErrorCodes.OperationNotPermitted, $"Channel '{message.Channel}' was attached without publish mode");
            }

            // Ids are connectionId:msgSerial:index, so a retransmission after a resume carries the same ids and the
            // log's idempotency turns it into an ACK of the original serials, never a second delivery.
            var prefix = string.Concat(Connection.Id, ":", msgSerial.ToString(CultureInfo.InvariantCulture), ":");
            for (var i = 0; i < messages.Count; i++)
            {
                messages[i].Id ??= prefix + i.ToString(CultureInfo.InvariantCulture);
            }

            var result = await _services.Publisher.PublishAsync(Connection.Auth, message.Channel, messages, Connection.Id, cancellationToken).ConfigureAwait(false);
            Send(new ProtocolMessage(ProtocolAction.Ack)
            {
                MsgSerial = msgSerial,
                Count = 1,
                Res = [new PublishResult(result.Serials)],
            });
        }
        catch (ProtocolException ex)
        {
            Nack(message, ex.Error);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            PublishFailed(_services.Logger, ex, ConnectionId, message.Channel);
            Nack(message, ErrorCodes.Create(ErrorCodes.InternalChannelError, "Publish failed: internal error; retry"));
        }
    }
}
