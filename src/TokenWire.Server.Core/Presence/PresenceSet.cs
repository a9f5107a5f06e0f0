using TokenWire.Protocol;

namespace TokenWire.Server.Presence;

/// <summary>
/// The presence rules of one channel's member set (spec RTP2, reference §4.11), shared by the engines (the Redis
/// engine's script mirrors them): members are keyed by <c>clientId:connectionId</c>; an ENTER or UPDATE of an absent
/// member is broadcast as ENTER and of a present one as UPDATE, except that a repeated ENTER with the same id and
/// payload (the SDK's automatic re-enter after a reconnect) only refreshes the owner; a LEAVE of an absent member,
/// or of one owned by someone else when conditioned on the owner, does nothing; a LEAVE without data carries the
/// member's last data. Not thread-safe: the caller serialises applies per channel.
/// </summary>
public sealed class PresenceSet
{
    private readonly SortedDictionary<string, Member> _members = new(StringComparer.Ordinal);

    private sealed record Member(PresenceMessage Present, string Owner);

    public int Count => _members.Count;

    /// <summary>Applies the changes in order and returns the events to broadcast; all or nothing when a limit is hit.</summary>
    public IReadOnlyList<PresenceMessage> Apply(IReadOnlyList<PresenceChange> changes, int maxMembers)
    {
        EnsureRoom(changes, maxMembers);
        var events = new List<PresenceMessage>(changes.Count);
        foreach (var change in changes)
        {
            if (Apply(change) is { } broadcast)
            {
                events.Add(broadcast);
            }
        }

        return events;
    }

    public IReadOnlyList<PresenceMessage> Members()
    {
        var members = new PresenceMessage[_members.Count];
        var i = 0;
        foreach (var member in _members.Values)
        {
            members[i++] = member.Present;
        }

        return members;
    }

    private PresenceMessage? Apply(PresenceChange change)
    {
        var message = change.Message;
        var key = message.MemberKey;
        _members.TryGetValue(key, out var existing);
        if (message.Action == PresenceAction.Leave)
        {
            if (existing is null || (change.OnlyIfOwner && existing.Owner != change.Owner))
            {
                return null;
            }

            _members.Remove(key);
            var leave = message.Clone();
            if (leave.Data.IsNone)
            {
                leave.Data = existing.Present.Data;
                leave.Encoding = existing.Present.Encoding;
            }

            return leave;
        }

        var present = message.Clone();
        present.Action = PresenceAction.Present;
        _members[key] = new Member(present, change.Owner);
        if (existing is not null && message.Action == PresenceAction.Enter && SameEntry(existing.Present, message))
        {
            return null;
        }

        var broadcast = message.Clone();
        broadcast.Action = existing is null ? PresenceAction.Enter : PresenceAction.Update;
        return broadcast;
    }

    private void EnsureRoom(IReadOnlyList<PresenceChange> changes, int maxMembers)
    {
        if (maxMembers <= 0)
        {
            return;
        }

        var added = 0;
        foreach (var change in changes)
        {
            if (change.Message.Action != PresenceAction.Leave && !_members.ContainsKey(change.Message.MemberKey))
            {
                added++;
            }
        }

        if (added > 0 && _members.Count + added > maxMembers)
        {
            throw new ProtocolException(ErrorCodes.TooManyPresenceMembers, $"Maximum number of presence members on the channel ({maxMembers}) reached");
        }
    }

    private static bool SameEntry(PresenceMessage a, PresenceMessage b) =>
        a.Id == b.Id && a.Data.Equals(b.Data) && a.Encoding == b.Encoding
        && (a.Extras?.ToString() ?? string.Empty) == (b.Extras?.ToString() ?? string.Empty);
}
