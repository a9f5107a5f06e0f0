namespace TokenWire.Server.Presence;

/// <summary>
/// The presence members one realtime connection has entered, by channel and clientId: what must leave when the
/// connection detaches a channel, closes, or stays disconnected past the leave delay. Survives transports (a resume
/// keeps it); holds the pending delayed leave.
/// </summary>
public sealed class PresenceMemberships
{
    private readonly Lock _gate = new();
    private readonly HashSet<(string Channel, string ClientId)> _members = [];
    private ITimer? _pendingLeave;

    public bool IsEmpty
    {
        get
        {
            lock (_gate)
            {
                return _members.Count == 0;
            }
        }
    }

    public void Entered(string channel, string clientId)
    {
        lock (_gate)
        {
            _members.Add((channel, clientId));
        }
    }

    public void Left(string channel, string clientId)
    {
        lock (_gate)
        {
            _members.Remove((channel, clientId));
        }
    }

    /// <summary>Removes and returns the members on <paramref name="channel"/>, or on every channel when null.</summary>
    public List<(string Channel, string ClientId)> TakeAll(string? channel = null)
    {
        lock (_gate)
        {
            var taken = _members.Where(m => channel is null || m.Channel == channel).ToList();
            foreach (var member in taken)
            {
                _members.Remove(member);
            }

            return taken;
        }
    }

    /// <summary>Replaces the pending delayed leave (null cancels it: the connection is back).</summary>
    public void SetPendingLeave(ITimer? timer)
    {
        ITimer? previous;
        lock (_gate)
        {
            previous = _pendingLeave;
            _pendingLeave = timer;
        }

        previous?.Dispose();
    }
}
