using Microsoft.Extensions.Logging;
using TokenWire.Client.Internal;
using TokenWire.Protocol;

namespace TokenWire.Client;

/// <summary>
/// The realtime connection: one WebSocket at a time, the Ably connection state machine (spec RTN), automatic
/// reconnect with resume, publish pipelining with ACK/NACK, and ping. Thread-safe: every piece of mutable state,
/// including each channel's, is guarded by one lock (<see cref="Gate"/>); nothing blocks while holding it, and user
/// callbacks run on the client's event loop, never under it.
/// </summary>
public sealed partial class Connection
{
    private readonly RealtimeClientOptions _options;
    private readonly AuthProvider _auth;
    private readonly EventDispatcher _events;
    private readonly IProtocolCodec _codec;
    private readonly ILogger _logger;
    private readonly List<StateWaiter> _waiters = [];

    private ConnectionState _state = ConnectionState.Initialized;
    private string? _id;
    private string? _key;
    private ConnectionDetails? _details;
    private ErrorInfo? _errorReason;

    internal Connection(RealtimeClientOptions options, AuthProvider auth, EventDispatcher events)
    {
        _options = options;
        _auth = auth;
        _events = events;
        _codec = options.UseBinaryProtocol ? ProtocolCodecs.MessagePackFromServer : ProtocolCodecs.JsonFromServer;
        _logger = options.LoggerFactory.CreateLogger<Connection>();
    }

    /// <summary>Raised for every state change, in order, on the client's event loop.</summary>
    public event EventHandler<ConnectionStateChange>? StateChanged;

    public ConnectionState State
    {
        get
        {
            lock (Gate)
            {
                return _state;
            }
        }
    }

    /// <summary>The connection id assigned by the server; unchanged by a successful resume.</summary>
    public string? Id
    {
        get
        {
            lock (Gate)
            {
                return _id;
            }
        }
    }

    /// <summary>The connection key the client resumes with (<c>resume=</c>).</summary>
    public string? Key
    {
        get
        {
            lock (Gate)
            {
                return _key;
            }
        }
    }

    /// <summary>The error behind the latest state change, if any.</summary>
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

    /// <summary>The server's <c>connectionDetails</c> from the latest CONNECTED.</summary>
    public ConnectionDetails? Details
    {
        get
        {
            lock (Gate)
            {
                return _details;
            }
        }
    }

    /// <summary>Guards the connection's and every channel's state.</summary>
    internal Lock Gate { get; } = new();

    internal RealtimeChannels Channels { get; set; } = null!;

    internal int MaxMessageSize
    {
        get
        {
            lock (Gate)
            {
                return _details is { MaxMessageSize: > 0 } details ? details.MaxMessageSize : 65536;
            }
        }
    }

    /// <summary>Completes when the connection is (or next becomes) <paramref name="state"/>.</summary>
    public Task WaitForStateAsync(ConnectionState state, CancellationToken cancellationToken = default)
    {
        StateWaiter waiter;
        lock (Gate)
        {
            if (_state == state)
            {
                return Task.CompletedTask;
            }

            waiter = AddWaiterLocked(s => s == state);
        }

        return WaitAsync(waiter, cancellationToken);
    }

    /// <summary>Sends a frame on the current transport if connected; otherwise the caller's state machine resends later.</summary>
    internal bool SendLocked(ProtocolMessage message) =>
        _state == ConnectionState.Connected && _session is { End: null } session && session.Transport.Send(message);

    internal bool IsConnectedLocked => _state == ConnectionState.Connected;

    internal string? IdLocked => _id;

    internal ConnectionState StateLocked => _state;

    /// <summary>Starts connecting on first use, when <see cref="RealtimeClientOptions.AutoConnect"/> allows.</summary>
    internal void EnsureConnectingLocked()
    {
        if (_state == ConnectionState.Initialized && _options.AutoConnect)
        {
            StartLoopLocked();
        }
    }

    /// <summary>The error for an operation the current state does not allow (spec RTN7, RTL4b).</summary>
    internal ErrorInfo StateErrorLocked() => _state switch
    {
        ConnectionState.Suspended => _errorReason ?? ErrorCodes.Create(80002, "Connection suspended"),
        ConnectionState.Failed => _errorReason ?? ErrorCodes.Create(ErrorCodes.ConnectionFailed, "Connection failed"),
        ConnectionState.Closing or ConnectionState.Closed => ErrorCodes.Create(ErrorCodes.ConnectionClosed, "Connection closed"),
        _ => ErrorCodes.Create(ErrorCodes.ConnectionDisconnected, $"Connection {_state.ToString().ToLowerInvariant()}"),
    };

    private void SetStateLocked(ConnectionState next, ErrorInfo? reason, TimeSpan? retryIn = null)
    {
        var previous = _state;
        _state = next;
        _errorReason = reason;
        StateChange(_logger, previous, next, reason?.ToString());
        var change = new ConnectionStateChange(previous, next, reason, retryIn);
        for (var i = _waiters.Count - 1; i >= 0; i--)
        {
            if (_waiters[i].Matches(next))
            {
                _waiters[i].Completion.TrySetResult(change);
                _waiters.RemoveAt(i);
            }
        }

        if (StateChanged is { } handler)
        {
            _events.Post(() => handler(this, change));
        }
    }

    private StateWaiter AddWaiterLocked(Func<ConnectionState, bool> matches)
    {
        var waiter = new StateWaiter(matches);
        _waiters.Add(waiter);
        return waiter;
    }

    /// <summary>Awaits a waiter; cancelling removes it, so abandoned waits do not accumulate.</summary>
    private async Task<ConnectionStateChange> WaitAsync(StateWaiter waiter, CancellationToken cancellationToken)
    {
        if (!cancellationToken.CanBeCanceled)
        {
            return await waiter.Completion.Task.ConfigureAwait(false);
        }

        using var registration = cancellationToken.Register(
            static state =>
            {
                var (connection, waiter, token) = ((Connection, StateWaiter, CancellationToken))state!;
                lock (connection.Gate)
                {
                    connection._waiters.Remove(waiter);
                }

                waiter.Completion.TrySetCanceled(token);
            },
            (this, waiter, cancellationToken));
        return await waiter.Completion.Task.ConfigureAwait(false);
    }

    private sealed class StateWaiter(Func<ConnectionState, bool> matches)
    {
        public Func<ConnectionState, bool> Matches { get; } = matches;

        public TaskCompletionSource<ConnectionStateChange> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
