using TokenWire.Protocol;

namespace TokenWire.Client;

/// <summary>
/// ATTACH / DETACH (reference §4.5-§4.7, spec RTL4, RTL5, RTL13). Every ATTACH carries the channel's params, the
/// requested modes and its channelSerial, so a re-attach after a reconnect resumes where the channel left off.
/// Each request has a deadline of RealtimeRequestTimeout: a timed-out attach makes the channel SUSPENDED (90007)
/// and it retries after ChannelRetryTimeout; a timed-out detach returns it to ATTACHED.
/// </summary>
public sealed partial class RealtimeChannel
{
    private readonly List<TaskCompletionSource> _attachWaiters = [];
    private readonly List<TaskCompletionSource> _detachWaiters = [];
    private ITimer? _timer;
    private int _timerGeneration;

    /// <summary>Attaches, connecting first if needed. Completes on ATTACHED; throws <see cref="AblyException"/> when
    /// refused (e.g. 40160), timed out (90007), or when the connection cannot attach (closed, failed, suspended).</summary>
    public Task AttachAsync(CancellationToken cancellationToken = default)
    {
        var waiter = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (Gate)
        {
            if (_state == ChannelState.Attached)
            {
                return Task.CompletedTask;
            }

            _connection.EnsureConnectingLocked();
            if (_connection.StateLocked is ConnectionState.Closing or ConnectionState.Closed or ConnectionState.Failed or ConnectionState.Suspended)
            {
                return Task.FromException(new AblyException(_connection.StateErrorLocked()));
            }

            _attachWaiters.Add(waiter);
            if (_state != ChannelState.Attaching)
            {
                BeginAttachLocked(null);
            }
        }

        return cancellationToken.CanBeCanceled ? waiter.Task.WaitAsync(cancellationToken) : waiter.Task;
    }

    /// <summary>Detaches. Completes on DETACHED (immediately when not attached, or when the connection is down).</summary>
    public Task DetachAsync(CancellationToken cancellationToken = default)
    {
        var waiter = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (Gate)
        {
            switch (_state)
            {
                case ChannelState.Initialized or ChannelState.Detached:
                    return Task.CompletedTask;
                case ChannelState.Failed:
                    return Task.FromException(new AblyException(_errorReason ?? ErrorCodes.Create(90001, "Channel failed")));
                case ChannelState.Detaching:
                    _detachWaiters.Add(waiter);
                    break;
                default:
                    FailWaitersLocked(_attachWaiters, ErrorCodes.Create(ErrorCodes.ChannelOperationFailed, "Detach requested while attaching"));
                    if (_connection.IsConnectedLocked)
                    {
                        _detachWaiters.Add(waiter);
                        SetStateLocked(ChannelState.Detaching, null);
                        _connection.SendLocked(new ProtocolMessage(ProtocolAction.Detach) { Channel = Name });
                        ArmTimerLocked(_clientOptions.RealtimeRequestTimeout, OnDetachTimeoutLocked);
                    }
                    else
                    {
                        // The server forgets a transport's attachments when it drops, so there is nothing to undo.
                        CancelTimerLocked();
                        EnterDetachedLocked(null);
                        return Task.CompletedTask;
                    }

                    break;
            }
        }

        return cancellationToken.CanBeCanceled ? waiter.Task.WaitAsync(cancellationToken) : waiter.Task;
    }

    internal void OnFrame(ProtocolMessage message)
    {
        switch (message.Action)
        {
            case ProtocolAction.Message:
                OnMessage(message);
                break;
            case ProtocolAction.Attached:
                List<PresenceMessage>? leaves;
                lock (Gate)
                {
                    leaves = OnAttachedLocked(message);
                }

                if (leaves is not null)
                {
                    Presence.Emit(leaves);
                    Presence.ReenterOwnMembers();
                }

                break;
            case ProtocolAction.Presence or ProtocolAction.Sync:
                OnPresence(message);
                break;
            case ProtocolAction.Annotation:
                OnAnnotation(message);
                break;
            case ProtocolAction.Detached:
                lock (Gate)
                {
                    OnDetachedLocked(message);
                }

                break;
            case ProtocolAction.Error:
                lock (Gate)
                {
                    // Channel ERROR: FAILED with that error (RTL14); a later AttachAsync may try again.
                    var reason = message.Error ?? ErrorCodes.Create(ErrorCodes.ChannelOperationFailed, "Channel error");
                    CancelTimerLocked();
                    _channelSerial = null;
                    _attachSerial = null;
                    SetStateLocked(ChannelState.Failed, reason);
                    FailWaitersLocked(_attachWaiters, reason);
                    FailWaitersLocked(_detachWaiters, reason);
                }

                break;
        }
    }

    /// <summary>
    /// Returns the presence LEAVEs to deliver when this ATTACHED begins a new attachment, after which this
    /// connection's members are re-entered (RTP17i); null when it does not (a resumed update, or while detaching).
    /// </summary>
    private List<PresenceMessage>? OnAttachedLocked(ProtocolMessage message)
    {
        var resumed = message.HasFlag(ProtocolFlags.Resumed);
        switch (_state)
        {
            case ChannelState.Attaching or ChannelState.Suspended:
                CancelTimerLocked();
                ApplyAttachedLocked(message, resumed);
                SetStateLocked(ChannelState.Attached, message.Error, resumed, message.HasFlag(ProtocolFlags.HasBacklog));
                CompleteWaitersLocked(_attachWaiters);
                return Presence.OnAttachedLocked(message.HasFlag(ProtocolFlags.HasPresence));
            case ChannelState.Attached:
                // Unrequested ATTACHED: without RESUMED, continuity was lost (RTL12); report it as an update.
                ApplyAttachedLocked(message, resumed);
                if (!resumed)
                {
                    SetStateLocked(ChannelState.Attached, message.Error, resumed: false, message.HasFlag(ProtocolFlags.HasBacklog));
                    return Presence.OnAttachedLocked(message.HasFlag(ProtocolFlags.HasPresence));
                }

                return null;
            case ChannelState.Detaching:
                // An ATTACHED overtaking our DETACH: ask again (RTL5k).
                _connection.SendLocked(new ProtocolMessage(ProtocolAction.Detach) { Channel = Name });
                return null;
            default:
                return null;
        }
    }

    private void ApplyAttachedLocked(ProtocolMessage message, bool resumed)
    {
        if (message.ChannelSerial is { } serial)
        {
            _channelSerial = serial;
            if (!resumed)
            {
                _attachSerial = serial;
            }
        }

        _params = message.Params ?? new Dictionary<string, string>();
        _modes = (ChannelModes)(message.Flags & ProtocolFlags.AllModes);
        Annotations.OnAttachedLocked(_modes);
    }

    private void OnDetachedLocked(ProtocolMessage message)
    {
        switch (_state)
        {
            case ChannelState.Detaching:
                CancelTimerLocked();
                EnterDetachedLocked(message.Error);
                break;
            case ChannelState.Attached or ChannelState.Suspended:
                // Server-initiated detach: re-attach at once (RTL13a).
                BeginAttachLocked(message.Error);
                break;
            case ChannelState.Attaching when message.Error is { } error:
                // Refused while attaching: SUSPENDED, retried later (RTL13b).
                SuspendLocked(error);
                break;
        }
    }

    private void BeginAttachLocked(ErrorInfo? reason)
    {
        if (_state != ChannelState.Attaching)
        {
            SetStateLocked(ChannelState.Attaching, reason);
        }

        SendAttachLocked();
        ArmTimerLocked(_clientOptions.RealtimeRequestTimeout, OnAttachTimeoutLocked);
    }

    /// <summary>ATTACH with params, requested modes and the resume point; sent only while connected, else at the next CONNECTED.</summary>
    private void SendAttachLocked() =>
        _connection.SendLocked(new ProtocolMessage(ProtocolAction.Attach)
        {
            Channel = Name,
            Params = AttachParams(_options),
            Flags = (ProtocolFlags)_options.Modes,
            ChannelSerial = _channelSerial,
        });

    /// <summary>The options' params, with <c>delta</c> when <see cref="ChannelOptions.Delta"/> asks for deltas.</summary>
    private static Dictionary<string, string>? AttachParams(ChannelOptions options)
    {
        if (options.Params is not { Count: > 0 } && options.Delta is null)
        {
            return null;
        }

        var parameters = new Dictionary<string, string>(options.Params ?? new Dictionary<string, string>(), StringComparer.Ordinal);
        if (options.Delta is { } delta)
        {
            parameters["delta"] = delta;
        }

        return parameters;
    }

    private void OnAttachTimeoutLocked()
    {
        if (_state == ChannelState.Attaching)
        {
            SuspendLocked(ErrorCodes.Create(90007, $"Channel attach timed out after {_clientOptions.RealtimeRequestTimeout}"));
        }
    }

    private void SuspendLocked(ErrorInfo reason)
    {
        SetStateLocked(ChannelState.Suspended, reason);
        FailWaitersLocked(_attachWaiters, reason);
        ArmTimerLocked(_clientOptions.ChannelRetryTimeout, () =>
        {
            if (_state == ChannelState.Suspended && _connection.IsConnectedLocked)
            {
                BeginAttachLocked(_errorReason);
            }
        });
    }

    private void OnDetachTimeoutLocked()
    {
        if (_state == ChannelState.Detaching)
        {
            var reason = ErrorCodes.Create(90007, $"Channel detach timed out after {_clientOptions.RealtimeRequestTimeout}");
            SetStateLocked(ChannelState.Attached, reason);
            FailWaitersLocked(_detachWaiters, reason);
        }
    }

    private void EnterDetachedLocked(ErrorInfo? reason)
    {
        _channelSerial = null;
        _attachSerial = null;
        SetStateLocked(ChannelState.Detached, reason);
        CompleteWaitersLocked(_detachWaiters);
        FailWaitersLocked(_attachWaiters, reason ?? ErrorCodes.Create(ErrorCodes.ChannelOperationFailed, "Channel detached"));
    }

    /// <summary>Every CONNECTED, resumed or not: re-attach with the channelSerial (RTN15c6/c7, reference §4.7).</summary>
    internal void OnConnectedLocked()
    {
        switch (_state)
        {
            case ChannelState.Attaching or ChannelState.Attached or ChannelState.Suspended:
                BeginAttachLocked(null);
                break;
            case ChannelState.Detaching:
                _connection.SendLocked(new ProtocolMessage(ProtocolAction.Detach) { Channel = Name });
                ArmTimerLocked(_clientOptions.RealtimeRequestTimeout, OnDetachTimeoutLocked);
                break;
        }
    }

    internal void OnConnectionSuspendedLocked(ErrorInfo reason)
    {
        if (_state is ChannelState.Attaching or ChannelState.Attached)
        {
            CancelTimerLocked();
            SetStateLocked(ChannelState.Suspended, reason);
            FailWaitersLocked(_attachWaiters, reason);
        }
    }

    internal void OnConnectionClosedLocked()
    {
        if (_state is ChannelState.Attaching or ChannelState.Attached or ChannelState.Suspended or ChannelState.Detaching)
        {
            CancelTimerLocked();
            EnterDetachedLocked(null);
        }
    }

    internal void OnConnectionFailedLocked(ErrorInfo reason)
    {
        if (_state is ChannelState.Attaching or ChannelState.Attached or ChannelState.Suspended or ChannelState.Detaching)
        {
            CancelTimerLocked();
            _channelSerial = null;
            _attachSerial = null;
            SetStateLocked(ChannelState.Failed, reason);
            FailWaitersLocked(_attachWaiters, reason);
            FailWaitersLocked(_detachWaiters, reason);
        }
    }

    /// <summary>One timer per channel; a generation number makes a callback that lost the race with a re-arm a no-op.</summary>
    private void ArmTimerLocked(TimeSpan due, Action onDueLocked)
    {
        _timer?.Dispose();
        var generation = ++_timerGeneration;
        _timer = TimeProvider.System.CreateTimer(
            _ =>
            {
                lock (Gate)
                {
                    if (generation == _timerGeneration)
                    {
                        _timer?.Dispose();
                        _timer = null;
                        onDueLocked();
                    }
                }
            },
            null,
            due,
            Timeout.InfiniteTimeSpan);
    }

    private void CancelTimerLocked()
    {
        _timerGeneration++;
        _timer?.Dispose();
        _timer = null;
    }

    private static void CompleteWaitersLocked(List<TaskCompletionSource> waiters)
    {
        foreach (var waiter in waiters)
        {
            waiter.TrySetResult();
        }

        waiters.Clear();
    }

    private static void FailWaitersLocked(List<TaskCompletionSource> waiters, ErrorInfo reason)
    {
        foreach (var waiter in waiters)
        {
            waiter.TrySetException(new AblyException(reason));
        }

        waiters.Clear();
    }
}
