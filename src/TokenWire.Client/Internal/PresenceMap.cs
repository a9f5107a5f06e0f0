using System.Globalization;
using TokenWire.Protocol;

namespace TokenWire.Client.Internal;

/// <summary>
/// A channel's presence members keyed by <c>clientId:connectionId</c> (spec RTP2). Only a message newer than the
/// stored one changes a member (RTP2b): ids <c>connectionId:msgSerial:index</c> are compared numerically, and when
/// either is synthesized (its id does not start with its connectionId) the timestamps decide. During a SYNC, leaves
/// are kept as ABSENT tombstones so a stale PRESENT in a later page cannot revive the member (RTP2h2), and members
/// not seen by the end of the SYNC are removed with synthesized leaves (RTP19). Not thread-safe: the owner locks.
/// </summary>
internal sealed class PresenceMap
{
    private readonly Dictionary<string, PresenceMessage> _members = new(StringComparer.Ordinal);

    /// <summary>Members present when the SYNC began and not seen in it yet; null when no SYNC is in progress.</summary>
    private HashSet<string>? _residual;

    public bool SyncInProgress => _residual is not null;

    /// <summary>The syncId of the SYNC in progress (the part of its channelSerial before the first colon).</summary>
    public string? SyncId { get; set; }

    /// <summary>ENTER, UPDATE or PRESENT: stores the member as PRESENT; false when the message is stale.</summary>
    public bool Put(PresenceMessage item)
    {
        var key = item.MemberKey;
        _residual?.Remove(key);
        if (_members.TryGetValue(key, out var existing) && !IsNewer(item, existing))
        {
            return false;
        }

        var stored = item.Clone();
        stored.Action = PresenceAction.Present;
        _members[key] = stored;
        return true;
    }

    /// <summary>LEAVE: removes the member (a tombstone during a SYNC); true when a present member left.</summary>
    public bool Remove(PresenceMessage item)
    {
        var key = item.MemberKey;
        _residual?.Remove(key);
        var exists = _members.TryGetValue(key, out var existing);
        if (exists && !IsNewer(item, existing!))
        {
            return false;
        }

        if (SyncInProgress)
        {
            var tombstone = item.Clone();
            tombstone.Action = PresenceAction.Absent;
            _members[key] = tombstone;
        }
        else
        {
            _members.Remove(key);
        }

        return exists && existing!.Action != PresenceAction.Absent;
    }

    public void StartSync(string? syncId)
    {
        SyncId = syncId;
        _residual = [.. _members.Where(m => m.Value.Action != PresenceAction.Absent).Select(m => m.Key)];
    }

    /// <summary>Ends the SYNC: drops tombstones and returns a synthesized LEAVE for every member it did not mention.</summary>
    public List<PresenceMessage> EndSync(long now)
    {
        var leaves = new List<PresenceMessage>();
        foreach (var key in _residual ?? [])
        {
            if (_members.Remove(key, out var member))
            {
                var leave = member.Clone();
                leave.Action = PresenceAction.Leave;
                leave.Id = null;
                leave.Timestamp = now;
                leaves.Add(leave);
            }
        }

        foreach (var (key, member) in _members.ToArray())
        {
            if (member.Action == PresenceAction.Absent)
            {
                _members.Remove(key);
            }
        }

        _residual = null;
        SyncId = null;
        return leaves;
    }

    /// <summary>Forgets everything without events (channel DETACHED or FAILED, RTP5a).</summary>
    public void Clear()
    {
        _members.Clear();
        _residual = null;
        SyncId = null;
    }

    public List<PresenceMessage> Snapshot(string? clientId, string? connectionId) =>
        [.. _members.Values.Where(m => m.Action != PresenceAction.Absent
            && (clientId is null || m.ClientId == clientId)
            && (connectionId is null || m.ConnectionId == connectionId))];

    /// <summary>RTP2b: is <paramref name="item"/> newer than <paramref name="existing"/>? Ties by timestamp favour the newcomer.</summary>
    public static bool IsNewer(PresenceMessage item, PresenceMessage existing)
    {
        if (!TryParseId(item, out var a) || !TryParseId(existing, out var b))
        {
            return (item.Timestamp ?? 0) >= (existing.Timestamp ?? 0);
        }

        return a.MsgSerial != b.MsgSerial ? a.MsgSerial > b.MsgSerial : a.Index > b.Index;
    }

    /// <summary>Parses <c>connectionId:msgSerial:index</c>; false for a synthesized id.</summary>
    public static bool TryParseId(PresenceMessage message, out (long MsgSerial, long Index) id)
    {
        id = default;
        if (message.Id is not { } text || message.ConnectionId is not { Length: > 0 } connectionId
            || !text.StartsWith(connectionId, StringComparison.Ordinal) || text.Length <= connectionId.Length || text[connectionId.Length] != ':')
        {
            return false;
        }

        var rest = text.AsSpan(connectionId.Length + 1);
        var colon = rest.IndexOf(':');
        if (colon < 0
            || !long.TryParse(rest[..colon], NumberStyles.None, CultureInfo.InvariantCulture, out var msgSerial)
            || !long.TryParse(rest[(colon + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out var index))
        {
            return false;
        }

        id = (msgSerial, index);
        return true;
    }
}
