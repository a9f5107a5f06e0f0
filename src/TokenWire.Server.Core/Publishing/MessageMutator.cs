using Microsoft.Extensions.Options;
using TokenWire.Protocol;
using TokenWire.Protocol.Serials;
using TokenWire.Server.Auth;
using TokenWire.Server.Channels;
using TokenWire.Server.Configuration;
using TokenWire.Server.Diagnostics;
using TokenWire.Server.Engine;
using TokenWire.Server.Log;
using TokenWire.Server.Stats;

namespace TokenWire.Server.Publishing;

/// <summary>
/// The one update/delete/append path for realtime and REST (reference §4.12): the channel must be mutable (93002),
/// the caller needs message-update-* (update, append) or message-delete-* (delete) rights (40160), then the log
/// checks the target, ownership and append rules atomically with the append, and delivers the version.
/// </summary>
public sealed class MessageMutator(LogWriter log, ChannelRules rules, MessageMetrics? metrics = null, StatsRecorder? stats = null)
{
    /// <param name="connectionId">The acting realtime connection, or null for REST.</param>
    /// <param name="appendRollupWindow">The acting connection's rollup window for appends (none for REST).</param>
    /// <param name="order">The realtime operation's place in its connection's order on the channel (none for REST).</param>
    public async ValueTask<AppendResult> MutateAsync(AuthContext auth, string channelName, Message operation, string? connectionId, CancellationToken cancellationToken, TimeSpan appendRollupWindow = default, AppendOrder? order = null)
    {
        ChannelNames.Validate(channelName);
        var action = operation.Action ?? MessageActions.Create;
        if (!MessageActions.IsMutation(action))
        {
            throw new ProtocolException(ErrorCodes.InvalidParameterValue, "A message operation's action must be message.update, message.delete or message.append");
        }

        if (!auth.App.IsMutable(channelName))
        {
            throw new ProtocolException(ErrorCodes.MutableMessagesNotEnabled, "Can only update/delete/append messages on channels with mutableMessages enabled");
        }

        if (!LogPosition.TryParse(operation.Serial, out var target))
        {
            throw new ProtocolException(ErrorCodes.InvalidParameterValue, "This message lacks a valid serial");
        }

        var (any, own, verb) = action == MessageActions.Delete
            ? (ChannelOperation.MessageDeleteAny, ChannelOperation.MessageDeleteOwn, "delete")
            : (ChannelOperation.MessageUpdateAny, ChannelOperation.MessageUpdateOwn, "update");
        var mayChangeAny = auth.Capability.Allows(channelName, any);
        if (!mayChangeAny && !auth.Capability.Allows(channelName, own))
        {
            throw new ProtocolException(ErrorCodes.OperationNotPermitted, $"Permission denied: no message-{verb}-own or message-{verb}-any capability on channel '{channelName}'");
        }

        if (action == MessageActions.Append && MutationRules.DataKind(operation) != MutationRules.Text)
        {
            throw MutationRules.FragmentNotText();
        }

        auth.App.EnsureWithinMessageSize(operation.Size);
        ChannelPublisher.CountInbound(stats, auth, connectionId, 1, operation.Size);

        // The version names who acted: the identified client, or the clientId a key or wildcard holder states.
        var actor = auth.ClientIdFor(VersionPayload.ClientIdOf(operation.Version), "Operation");
        operation.Version = VersionPayload.Compose(operation.Version, actor);
        operation.ClientId = null;
        operation.ConnectionId = connectionId;
        operation.ConnectionKey = null;
        operation.Action = action;

        var channelKey = new ChannelKey(auth.App.Id, channelName);
        var mutation = new MessageMutation(target.Epoch, target.Offset, operation, auth.ClientId, mayChangeAny, auth.App.MaxMessageSize, appendRollupWindow);
        var result = await log.AppendMutationAsync(channelKey, mutation, rules.RetentionFor(auth.App, channelName), order, cancellationToken).ConfigureAwait(false);
        metrics?.Published(action, result.Appended.Count);
        return result;
    }
}
