using Microsoft.Extensions.Options;
using TokenWire.Protocol;
using TokenWire.Server.Auth;
using TokenWire.Server.Bus;
using TokenWire.Server.Channels;
using TokenWire.Server.Configuration;
using TokenWire.Server.Log;

namespace TokenWire.Server.Publishing;

/// <summary>
/// The one publish path for realtime and REST: check rights, identity and size, stamp the publisher, append to the
/// log (which orders and deduplicates), then hand the appended entries to the bus. The append is the commit point:
/// once it returns the publish may be acknowledged.
/// </summary>
public sealed class ChannelPublisher(IMessageLog log, IMessageBus bus, ChannelRules rules, IOptions<TokenWireOptions> options)
{
    private readonly int _maxMessageSize = options.Value.Limits.MaxMessageSize;

    /// <param name="connectionId">The publishing realtime connection, or null for REST (whose caller attributes each message).</param>
    public async ValueTask<AppendResult> PublishAsync(AuthContext auth, string channelName, IReadOnlyList<Message> messages, string? connectionId, CancellationToken cancellationToken)
    {
        ChannelNames.Validate(channelName);
        if (!auth.Capability.Allows(channelName, ChannelOperation.Publish))
        {
            throw new ProtocolException(ErrorCodes.OperationNotPermitted, $"Permission denied: no publish capability on channel '{channelName}'");
        }

        var total = 0;
        foreach (var message in messages)
        {
            total += message.Size;
            StampIdentity(auth, message);
            // A REST caller has set (or cleared) the connectionId of messages published on behalf of a connection.
            message.ConnectionId = connectionId ?? message.ConnectionId;
            message.ConnectionKey = null;
        }

        var maxMessageSize = auth.App.MaxMessageSize ?? _maxMessageSize;
        if (total > maxMessageSize)
        {
            throw new ProtocolException(ErrorCodes.MessageTooLarge, $"Message size {total} exceeds the maximum of {maxMessageSize} bytes");
        }

        var channelKey = ChannelKeys.For(auth.App.Id, channelName);
        var result = await log.AppendAsync(channelKey, messages, rules.RetentionFor(auth.App, channelName), cancellationToken).ConfigureAwait(false);
        if (result.Appended.Count > 0)
        {
            await bus.PublishAsync(new BusEnvelope(channelKey, result.Epoch, result.Appended, connectionId), cancellationToken).ConfigureAwait(false);
        }

        return result;
    }

    /// <summary>Messages carry the verified clientId: an identified client may not claim another (40012).</summary>
    private static void StampIdentity(AuthContext auth, Message message)
    {
        if (message.ClientId is { } claimed)
        {
            if (claimed.Length == 0 || claimed == "*")
            {
                throw new ProtocolException(ErrorCodes.InvalidClientId, "Invalid message clientId");
            }

            if (auth.ClientId is { } identity && !auth.IsWildcardClient && identity != claimed)
            {
                throw new ProtocolException(ErrorCodes.InvalidClientId, $"Message clientId '{claimed}' does not match the connection's clientId '{identity}'");
            }
        }
        else if (auth.ClientId is { } identity && !auth.IsWildcardClient)
        {
            message.ClientId = identity;
        }
    }
}
