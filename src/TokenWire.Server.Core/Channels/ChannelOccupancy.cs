using TokenWire.Protocol;

namespace TokenWire.Server.Channels;

/// <summary>This node's attachments to a channel by granted mode, for <c>channel.status()</c> occupancy metrics.</summary>
public sealed class ChannelOccupancy
{
    private int _connections;
    private int _publishers;
    private int _subscribers;
    private int _presenceSubscribers;

    public int Connections => Volatile.Read(ref _connections);

    public int Publishers => Volatile.Read(ref _publishers);

    public int Subscribers => Volatile.Read(ref _subscribers);

    public int PresenceSubscribers => Volatile.Read(ref _presenceSubscribers);

    public void Add(ProtocolFlags modes) => Change(modes, 1);

    public void Remove(ProtocolFlags modes) => Change(modes, -1);

    private void Change(ProtocolFlags modes, int delta)
    {
        Interlocked.Add(ref _connections, delta);
        if ((modes & ProtocolFlags.Publish) != 0)
        {
            Interlocked.Add(ref _publishers, delta);
        }

        if ((modes & ProtocolFlags.Subscribe) != 0)
        {
            Interlocked.Add(ref _subscribers, delta);
        }

        if ((modes & ProtocolFlags.PresenceSubscribe) != 0)
        {
            Interlocked.Add(ref _presenceSubscribers, delta);
        }
    }
}
