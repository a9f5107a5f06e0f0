using System.Globalization;
using TokenWire.Protocol;
using TokenWire.Server.Auth;
using TokenWire.Server.Presence;
using TokenWire.Server.Publishing;
using TokenWire.Server.Stats;

namespace TokenWire.Server.Connections;

/// <summary>PRESENCE from the client and the SYNC of the member set (reference §4.11, spec RTP).</summary>
public sealed partial class RealtimeSession
{
    private async Task HandlePresenceAsync(ProtocolMessage message, CancellationToken cancellationToken)
    {
        if (!TryGetMsgSerial(message, out var msgSerial))
        {
            return;
        }

        var items = message.Presence ?? [];
        if (RateLimited(message, items.Count))
        {
            return;
        }

        if (message.Channel is not { } name || !_attachments.TryGet(name, out var attachment))
        {
            Nack(message, ErrorCodes.Create(ErrorCodes.ChannelInvalidState, $"Unable to change presence: channel '{message.Channel}' is not attached"));
            return;
        }

        if (attachment.SubscribeOnly)
        {
            Nack(message, SubscribeOnlyError(name, attachment.Channel.Name));
            return;
        }

        // Capabilities apply to the channel itself, whatever qualifier the client attached with.
        if (!Connection.Auth.Capability.Allows(attachment.Channel.Name, ChannelOperation.Presence) || !attachment.ModesAllow(ProtocolFlags.Presence))
        {
            Nack(message, ErrorCodes.Create(ErrorCodes.OperationNotPermitted, $"Permission denied: no presence capability on channel '{name}'"));
            return;
        }

        _services.Stats.For(Connection.Auth.App.Id).Add(StatsCounter.InboundRealtimePresenceCount, items.Count, StatsCounter.InboundRealtimePresenceData, items.Sum(p => (long)p.Size));
        List<PresenceChange> changes;
        try
        {
            changes = ToChanges(items, msgSerial);
        }
        catch (ProtocolException ex)
        {
            Nack(message, ex.Error);
            return;
        }

        await AcknowledgeAsync(msgSerial, ApplyPresenceAsync(attachment.Channel.Name, changes, cancellationToken), name).ConfigureAwait(false);
    }

    /// <summary>Stamps each item with the verified clientId, this connection, an id and the time; refuses what Ably refuses.</summary>
    private List<PresenceChange> ToChanges(IReadOnlyList<PresenceMessage> items, long msgSerial)
    {
        var auth = Connection.Auth;
        var owner = _services.Presence.OwnerOf(Connection);
        var now = _services.Time.GetUtcNow().ToUnixTimeMilliseconds();
        var changes = new List<PresenceChange>(items.Count);
        for (var i = 0; i < items.Count; i++)
        {
            var item = items[i];
            if (item.Action is not (PresenceAction.Enter or PresenceAction.Update or PresenceAction.Leave))
            {
                throw new ProtocolException(ErrorCodes.BadRequest, $"Invalid presence action {(int)item.Action}: use enter (2), leave (3) or update (4)");
            }

            var clientId = auth.ClientIdFor(item.ClientId, "Presence");
            if (clientId is null)
            {
                throw new ProtocolException(ErrorCodes.PresenceNoClientId, "Unable to enter presence without a clientId: connect with one, or use enterClient");
            }

            auth.App.EnsureWithinMessageSize(item.Size, "Presence message");

            var stamped = item.Clone();
            stamped.ClientId = clientId;
            stamped.ConnectionId = Connection.Id;
            stamped.Timestamp = now;

            // An automatic re-enter brings the member's original id back (RTP17g) and keeps it.
            stamped.Id ??= MessageIds.ForRealtime(Connection.Id, msgSerial, i);
            changes.Add(new PresenceChange(stamped, owner));
        }

        return changes;
    }

    private async ValueTask<PublishResult?> ApplyPresenceAsync(string channel, List<PresenceChange> changes, CancellationToken cancellationToken)
    {
        await _services.Presence.ApplyAsync(Connection.Auth.App, channel, changes, cancellationToken).ConfigureAwait(false);
        foreach (var change in changes)
        {
            if (change.Message.Action == PresenceAction.Leave)
            {
                Connection.Presence.Left(channel, change.Message.ClientId!);
            }
            else
            {
                Connection.Presence.Entered(channel, change.Message.ClientId!);
            }
        }

        return null;
    }

    /// <summary>The client asks for the member set again (after a channel ERROR 80016 or a sync it lost track of).</summary>
    private async Task HandleSyncRequestAsync(ProtocolMessage message, CancellationToken cancellationToken)
    {
        if (message.Channel is { } name && _attachments.TryGet(name, out var attachment) && (attachment.Modes & ProtocolFlags.PresenceSubscribe) != 0)
        {
            var members = await _services.Presence.Store.GetMembersAsync(attachment.Channel.Key, cancellationToken).ConfigureAwait(false);
            SendSync(name, members);
        }
    }

    /// <summary>
    /// The member set as SYNC pages: <c>channelSerial</c> is <c>syncId:cursor</c>, the last page has an empty cursor and
    /// always a <c>presence</c> array, even an empty one, or the SDK never completes the sync (reference §4.11).
    /// </summary>
    private void SendSync(string channel, IReadOnlyList<PresenceMessage> members)
    {
        var syncId = "s" + Interlocked.Increment(ref _syncIds).ToString(CultureInfo.InvariantCulture);
        var pageSize = Math.Max(1, _services.Options.Presence.SyncPageSize);
        var start = 0;
        do
        {
            var count = Math.Min(pageSize, members.Count - start);
            var last = start + count >= members.Count;
            Send(new ProtocolMessage(ProtocolAction.Sync)
            {
                Channel = channel,
                ChannelSerial = string.Concat(syncId, ":", last ? string.Empty : (start + count).ToString(CultureInfo.InvariantCulture)),
                Presence = members.Skip(start).Take(count).ToArray(),
            });
            start += count;
        }
        while (start < members.Count);
    }
}
