using TokenWire.Server.Auth;
using TokenWire.Server.Presence;

namespace TokenWire.Server.Connections;

/// <summary>
/// The logical Ably connection: what survives a dropped transport for <c>connectionStateTtl</c> so the client can
/// resume (same id, same key). Channel subscriptions are not kept here: a resuming client re-attaches each channel
/// with its channelSerial and the channel replays what it missed.
/// </summary>
public sealed class RealtimeConnection(string id, string key, AuthContext auth)
{
    /// <summary>Serialises inbound processing across transports, so a resumed transport's retransmissions are
    /// handled after anything the old transport was still doing.</summary>
    private readonly SemaphoreSlim _inboundGate = new(1, 1);

    /// <summary>Guards the transport binding against a resume racing the old transport's end.</summary>
    private readonly Lock _binding = new();

    private PresenceMemberships? _presence;

    public string Id { get; } = id;

    /// <summary>The connection's identity in the stores: the key without its generation.</summary>
    public string Key { get; } = key;

    /// <summary>How many times the connection has been resumed or recovered; part of the key the client holds.</summary>
    public int Generation { get; set; }

    /// <summary>The key the client is given in CONNECTED (a new one after every resume, spec RTN15e/RTN16d).</summary>
    public string CurrentKey => ConnectionIds.KeyWithGeneration(Key, Generation);

    /// <summary>Rebuilt from shared state while another node's transport carries the connection (scale-out engines).</summary>
    public bool HeldElsewhere { get; init; }

    /// <summary>Current credentials; replaced by in-band AUTH or a resume with a renewed token.</summary>
    public AuthContext Auth { get; set; } = auth;

    public IRealtimeTransport? Transport { get; private set; }

    /// <summary>The presence members this connection has entered (they leave with it); created when first needed,
    /// as most connections never enter.</summary>
    public PresenceMemberships Presence => _presence ?? LazyInitializer.EnsureInitialized(ref _presence);

    /// <summary>When the last transport went away; null while one is active.</summary>
    public DateTimeOffset? DisconnectedAt { get; private set; }

    /// <summary>Makes <paramref name="transport"/> current; returns the one it replaces, which the caller closes.</summary>
    public IRealtimeTransport? Bind(IRealtimeTransport transport)
    {
        lock (_binding)
        {
            var previous = Transport;
            Transport = transport;
            DisconnectedAt = null;
            _presence?.SetPendingLeave(null); // none yet: nothing entered, so no leave is pending
            return previous;
        }
    }

    /// <summary>Marks the connection disconnected if <paramref name="transport"/> is still the current one; true if it was.</summary>
    public bool Unbind(IRealtimeTransport transport, DateTimeOffset now)
    {
        lock (_binding)
        {
            if (Transport != transport)
            {
                return false;
            }

            Transport = null;
            DisconnectedAt = now;
            return true;
        }
    }

    /// <summary>Waits for this connection's turn to handle an inbound message (see the gate's comment).</summary>
    internal Task EnterInboundAsync(CancellationToken cancellationToken) => _inboundGate.WaitAsync(cancellationToken);

    internal void ExitInbound() => _inboundGate.Release();
}
