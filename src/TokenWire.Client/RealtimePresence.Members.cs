using System.Globalization;
using TokenWire.Client.Internal;
using TokenWire.Protocol;

namespace TokenWire.Client;

/// <summary>
/// The member set (spec RTP2, RTP18, RTP19) and this connection's own members (RTP17). The channel calls the
/// <c>…Locked</c> methods under its lock for each ATTACHED, PRESENCE, SYNC and state change, and delivers the events
/// they return once the lock is released.
/// </summary>
public sealed partial class RealtimePresence
{
    private readonly PresenceMap _members = new();

    /// <summary>This connection's members by clientId, re-entered after every re-attach (RTP17).</summary>
    private readonly Dictionary<string, PresenceMessage> _own = new(StringComparer.Ordinal);

    private readonly List<TaskCompletionSource> _syncWaiters = [];
    private bool _syncComplete;

    /// <summary>
    /// ATTACHED that started a new attachment: with HAS_PRESENCE a SYNC follows; without it the channel has no members,
    /// so everyone known leaves (RTP1, RTP19a).
    /// </summary>
    internal List<PresenceMessage> OnAttachedLocked(bool hasPresence)
    {
        _members.StartSync(null);
        if (hasPresence)
        {
            _syncComplete = false;
            return [];
        }

        return EndSyncLocked();
    }

    /// <summary>PRESENCE: enter, update and leave events as they happen.</summary>
    internal List<PresenceMessage> OnPresenceLocked(ProtocolMessage frame)
    {
        var emitted = new List<PresenceMessage>();
        ApplyLocked(frame, emitted);
        return emitted;
    }

    /// <summary>
    /// SYNC page: channelSerial is <c>syncId:cursor</c>; a new syncId restarts the sync, and an empty cursor (or no
    /// channelSerial) marks the last page (RTP18).
    /// </summary>
    internal List<PresenceMessage> OnSyncLocked(ProtocolMessage frame)
    {
        string? syncId = null;
        var last = true;
        if (frame.ChannelSerial is { } serial)
        {
            var colon = serial.IndexOf(':', StringComparison.Ordinal);
            syncId = colon < 0 ? serial : serial[..colon];
            last = colon < 0 || colon == serial.Length - 1;
        }

        if (!_members.SyncInProgress)
        {
            _syncComplete = false;
            _members.StartSync(syncId);
        }
        else if (_members.SyncId is { } current && current != syncId)
        {
            _members.StartSync(syncId);
        }
        else
        {
            _members.SyncId = syncId;
        }

        var emitted = new List<PresenceMessage>();
        ApplyLocked(frame, emitted);
        if (last)
        {
            emitted.AddRange(EndSyncLocked());
        }

        return emitted;
    }

    /// <summary>DETACHED or FAILED: members and own members are forgotten without events (RTP5a).</summary>
    internal void OnChannelEndedLocked(ErrorInfo reason)
    {
        _members.Clear();
        _own.Clear();
        _syncComplete = false;
        FailSyncWaitersLocked(reason);
    }

    /// <summary>SUSPENDED: the members are kept, but no SYNC is coming until the channel attaches again (RTP5f).</summary>
    internal void OnChannelSuspendedLocked() => FailSyncWaitersLocked(OutOfSync());

    /// <summary>
    /// Re-enters this connection's members after an attach (RTP17i), each with its original id when the connection
    /// is the same one that entered it (RTP17g), so the server sees an unchanged member rather than a new entry.
    /// </summary>
    internal void ReenterOwnMembers()
    {
        PresenceMessage[] members;
        string? connectionId;
        lock (Gate)
        {
            members = [.. _own.Values];
            connectionId = _connection.IdLocked;
        }

        foreach (var member in members)
        {
            var enter = new PresenceMessage
            {
                Action = PresenceAction.Enter,
                ClientId = member.ClientId,
                Data = member.Data,
                Encoding = member.Encoding,
                Extras = member.Extras,
                Id = member.ConnectionId == connectionId ? member.Id : null,
            };
            var frame = new ProtocolMessage(ProtocolAction.Presence) { Channel = _channel.Name, Presence = [enter] };
            _ = _connection.PublishAsync(frame, CancellationToken.None).ContinueWith(
                static (task, state) =>
                {
                    var (presence, clientId) = ((RealtimePresence, string?))state!;
                    ReenterFailed(presence._logger, presence._channel.Name, clientId, task.Exception!.GetBaseException().Message);
                },
                (this, member.ClientId),
                CancellationToken.None,
                TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously,
                TaskScheduler.Default);
        }
    }

    private List<PresenceMessage> EndSyncLocked()
    {
        var leaves = _members.EndSync(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
        _syncComplete = true;
        foreach (var waiter in _syncWaiters)
        {
            waiter.TrySetResult();
        }

        _syncWaiters.Clear();
        return leaves;
    }

    private void FailSyncWaitersLocked(ErrorInfo reason)
    {
        foreach (var waiter in _syncWaiters)
        {
            waiter.TrySetException(new AblyException(reason));
        }

        _syncWaiters.Clear();
    }

    /// <summary>RTP17b: own members follow every event for this connection, except leaves the server synthesized.</summary>
    private void UpdateOwnLocked(PresenceMessage item)
    {
        if (item.ClientId is not { } clientId || item.ConnectionId is null || item.ConnectionId != _connection.IdLocked)
        {
            return;
        }

        if (item.Action != PresenceAction.Leave)
        {
            _own[clientId] = item;
        }
        else if (PresenceMap.TryParseId(item, out _))
        {
            _own.Remove(clientId);
        }
    }

    /// <summary>Each item inherits id, connectionId and timestamp from the frame (TP3a, TP3c, TP3e); changes are emitted.</summary>
    private void ApplyLocked(ProtocolMessage frame, List<PresenceMessage> emitted)
    {
        var items = frame.Presence ?? [];
        for (var i = 0; i < items.Count; i++)
        {
            var item = items[i];
            if (item.Id is null && frame.Id is not null)
            {
                item.Id = string.Concat(frame.Id, ":", i.ToString(CultureInfo.InvariantCulture));
            }

            item.ConnectionId ??= frame.ConnectionId;
            item.Timestamp ??= frame.Timestamp;
            PayloadCodec.Decode(item);
            UpdateOwnLocked(item);
            if (item.Action == PresenceAction.Leave ? _members.Remove(item) : _members.Put(item))
            {
                emitted.Add(item);
            }
        }
    }
}
