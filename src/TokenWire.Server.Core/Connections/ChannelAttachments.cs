using TokenWire.Protocol;
using TokenWire.Server.Channels;

namespace TokenWire.Server.Connections;

/// <summary>One channel as a session holds it: the channel, its delivery registrations and the modes in force.</summary>
/// <param name="Requested">The modes the client asked for, or none when it took the default set.</param>
/// <param name="SubscribeOnly">A filtered attachment (<c>[filter=…]name</c>): publish and presence are refused on it.</param>
internal sealed record ChannelAttachment(LocalChannel Channel, ChannelSubscriber? Subscriber, ChannelSubscriber PresenceSubscriber, ProtocolFlags Modes, ProtocolFlags Requested, bool SubscribeOnly = false)
{
    /// <summary>
    /// Whether the client's choice of modes allows an operation. Rights are checked separately against the current
    /// capability: a client that took the default set may publish once an in-band AUTH grants it, as in Ably (ably-js
    /// reauthCapabilityUpgradeAddPublish), while one that asked for other modes may not.
    /// </summary>
    public bool ModesAllow(ProtocolFlags mode) => ((Requested == ProtocolFlags.None ? AttachModes.Default : Requested) & mode) != 0;
}

/// <summary>
/// A session's attachments by channel name. Handlers change it from the read loop; the lock covers the transport's
/// end (<see cref="TakeAll"/>), which may overlap a handler cancelled mid-way.
/// </summary>
internal sealed class ChannelAttachments
{
    private readonly Dictionary<string, ChannelAttachment> _byName = new(StringComparer.Ordinal);

    public int Count
    {
        get
        {
            lock (_byName)
            {
                return _byName.Count;
            }
        }
    }

    public bool TryGet(string name, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out ChannelAttachment? attachment)
    {
        lock (_byName)
        {
            return _byName.TryGetValue(name, out attachment);
        }
    }

    /// <summary>Adds or replaces the attachment of <paramref name="name"/>.</summary>
    public void Set(string name, ChannelAttachment attachment)
    {
        lock (_byName)
        {
            _byName[name] = attachment;
        }
    }

    public bool Remove(string name, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out ChannelAttachment? attachment)
    {
        lock (_byName)
        {
            return _byName.Remove(name, out attachment);
        }
    }

    /// <summary>Removes and returns the attachments <paramref name="lost"/> says no longer apply (a new token's rights).</summary>
    public List<(string Name, ChannelAttachment Attachment)> RemoveWhere(Func<string, bool> lost)
    {
        lock (_byName)
        {
            var removed = new List<(string, ChannelAttachment)>();
            foreach (var (name, attachment) in _byName)
            {
                if (lost(name))
                {
                    removed.Add((name, attachment));
                }
            }

            foreach (var (name, _) in removed)
            {
                _byName.Remove(name);
            }

            return removed;
        }
    }

    /// <summary>Empties the table, returning what it held.</summary>
    public List<ChannelAttachment> TakeAll()
    {
        lock (_byName)
        {
            var all = _byName.Values.ToList();
            _byName.Clear();
            return all;
        }
    }
}
