using Microsoft.Extensions.Logging;
using TokenWire.Client.Internal;
using TokenWire.Protocol;

namespace TokenWire.Client;

/// <summary>
/// One realtime channel: attach/detach with the Ably channel state machine (spec RTL), subscriptions, pipelined
/// publishes and history. Its state shares the connection's lock, so connection and channel transitions are
/// consistent with each other (re-attach after every CONNECTED, SUSPENDED with the connection, and so on).
/// </summary>
public sealed partial class RealtimeChannel
{
    private readonly Connection _connection;
    private readonly RestClient _rest;
    private readonly EventDispatcher _events;
    private readonly RealtimeClientOptions _clientOptions;
    private readonly ILogger _logger;

    /// <summary>The vcdiff base: the message decoded last.</summary>
    private readonly DeltaBase _deltaBase = new();

    private ChannelState _state = ChannelState.Initialized;
    private ErrorInfo? _errorReason;
    private ChannelOptions _options;
    private string? _channelSerial;
    private string? _attachSerial;
    private IReadOnlyDictionary<string, string> _params = new Dictionary<string, string>();
    private ChannelModes _modes;

    internal RealtimeChannel(string name, ChannelOptions options, Connection connection, RestClient rest, EventDispatcher events, RealtimeClientOptions clientOptions)
    {
        Name = name;
        _options = options;
        _connection = connection;
        _rest = rest;
        _events = events;
        _subscribers = new SubscriberList<Message>(connection.Gate, events);
        _clientOptions = clientOptions;
        _logger = clientOptions.LoggerFactory.CreateLogger<RealtimeChannel>();
        Presence = new RealtimePresence(this, connection, rest, events, clientOptions);
        Annotations = new RealtimeAnnotations(this, connection, rest, events, clientOptions);
    }

    /// <summary>Raised for every state change (and for updates while attached), in order, on the client's event loop.</summary>
    public event EventHandler<ChannelStateChange>? StateChanged;

    /// <summary>Raised when a <see cref="SubscribeAsync"/> consumer is so far behind that its buffer is full and a
    /// message for it was dropped.</summary>
    public event EventHandler<MessageDroppedEventArgs>? MessageDropped;

    public string Name { get; }

    /// <summary>This channel's presence: enter/update/leave, the member set and presence events.</summary>
    public RealtimePresence Presence { get; }

    /// <summary>This channel's annotations: publish, delete, subscribe to raw annotations, read them back.</summary>
    public RealtimeAnnotations Annotations { get; }

    public ChannelState State
    {
        get
        {
            lock (Gate)
            {
                return _state;
            }
        }
    }

    public ErrorInfo? ErrorReason
    {
        get
        {
            lock (Gate)
            {
                return _errorReason;
            }
        }
    }

    public ChannelOptions Options
    {
        get
        {
            lock (Gate)
            {
                return _options;
            }
        }
    }

    /// <summary>The channel params the server accepted in the latest ATTACHED.</summary>
    public IReadOnlyDictionary<string, string> Params
    {
        get
        {
            lock (Gate)
            {
                return _params;
            }
        }
    }

    /// <summary>The modes the server granted in the latest ATTACHED.</summary>
    public ChannelModes Modes
    {
        get
        {
            lock (Gate)
            {
                return _modes;
            }
        }
    }

    /// <summary>The channel position after the last ATTACHED or MESSAGE; sent with every re-attach to resume from there.</summary>
    public string? ChannelSerial
    {
        get
        {
            lock (Gate)
            {
                return _channelSerial;
            }
        }
    }

    /// <summary>The channelSerial of the last non-RESUMED ATTACHED: the attach point for <see cref="HistoryRequest.UntilAttach"/>.</summary>
    public string? AttachSerial
    {
        get
        {
            lock (Gate)
            {
                return _attachSerial;
            }
        }
    }

    internal ChannelOptions OptionsLocked
    {
        set => _options = value;
    }

    internal ChannelState StateLocked => _state;

    /// <summary>The vcdiff base, for tests that force a base mismatch.</summary>
    internal DeltaBase DeltaBase => _deltaBase;

    internal ChannelModes ModesLocked => _modes;

    internal ErrorInfo? ErrorReasonLocked => _errorReason;

    private Lock Gate => _connection.Gate;

    private void SetStateLocked(ChannelState next, ErrorInfo? reason, bool resumed = false, bool hasBacklog = false)
    {
        var previous = _state;
        _state = next;
        _errorReason = reason;
        StateChange(_logger, Name, previous, next, reason?.ToString());
        switch (next)
        {
            case ChannelState.Detached or ChannelState.Failed:
                Presence.OnChannelEndedLocked(reason ?? ErrorCodes.Create(ErrorCodes.ChannelOperationFailed, $"Channel '{Name}' is {next.ToString().ToLowerInvariant()}"));
                break;
            case ChannelState.Suspended:
                Presence.OnChannelSuspendedLocked();
                break;
        }

        if (StateChanged is { } handler)
        {
            var change = new ChannelStateChange(previous, next, reason, resumed, hasBacklog);
            _events.Post(() => handler(this, change));
        }
    }
}
