using TokenWire.Client.Internal;
using TokenWire.Protocol;

namespace TokenWire.Client;

/// <summary>
/// Connecting, reconnecting and closing (spec RTN11-RTN15, reference §1.5, §4.2, §4.8, §4.10). One loop runs per
/// connection lifetime: open a transport, wait for CONNECTED, run until the transport ends, then retry — at once
/// after losing a connected transport, then with backoff; SUSPENDED once disconnected for longer than
/// connectionStateTtl. It always resumes with the last connectionKey, and lets the server decide.
/// </summary>
public sealed partial class Connection
{
    private Session? _session;
    private bool _closeRequested;
    private TaskCompletionSource _wake = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long? _disconnectedSinceTicks;

    private enum SessionEndKind
    {
        Disconnected,
        Failed,
        Closed,
    }

    /// <summary>
    /// Connects, or retries now when disconnected or suspended. Completes once CONNECTED; throws
    /// <see cref="AblyException"/> with the reason if this attempt ends in any other state (the client keeps
    /// retrying in the background unless that state is FAILED or CLOSED).
    /// </summary>
    public async Task ConnectAsync(CancellationToken cancellationToken = default)
    {
        StateWaiter waiter;
        lock (Gate)
        {
            switch (_state)
            {
                case ConnectionState.Connected:
                    return;
                case ConnectionState.Initialized or ConnectionState.Closed or ConnectionState.Failed:
                    StartLoopLocked();
                    break;
                case ConnectionState.Disconnected or ConnectionState.Suspended:
                    _wake.TrySetResult();
                    break;
                case ConnectionState.Closing:
                    throw new AblyException(ErrorCodes.ConnectionClosed, "Connection is closing; wait for CLOSED before connecting again");
            }

            waiter = AddWaiterLocked(s => s is ConnectionState.Connected or ConnectionState.Disconnected or ConnectionState.Suspended
                or ConnectionState.Closed or ConnectionState.Failed);
        }

        var change = await WaitAsync(waiter, cancellationToken).ConfigureAwait(false);
        if (change.Current != ConnectionState.Connected)
        {
            throw new AblyException(change.Reason ?? ErrorCodes.Create(ErrorCodes.ConnectionFailed, $"Connection {change.Current.ToString().ToLowerInvariant()}"));
        }
    }

    /// <summary>
    /// Closes the connection (CLOSE, then CLOSED or a timeout). Pending publishes fail with 80017 and channels become
    /// DETACHED. Completes once CLOSED; <see cref="ConnectAsync"/> may open a fresh connection afterwards.
    /// </summary>
    public async Task CloseAsync(CancellationToken cancellationToken = default)
    {
        StateWaiter waiter;
        lock (Gate)
        {
            switch (_state)
            {
                case ConnectionState.Closed:
                    return;
                case ConnectionState.Initialized or ConnectionState.Failed:
                    EnterClosedLocked();
                    return;
                case ConnectionState.Connected:
                    _closeRequested = true;
                    SetStateLocked(ConnectionState.Closing, null);
                    if (_session is { } session && session.Transport.Send(new ProtocolMessage(ProtocolAction.Close)))
                    {
                        _ = CloseTimeoutAsync(session);
                    }
                    else
                    {
                        _session?.FinishLocked(SessionEndKind.Closed, ConnectionClosedError());
                    }

                    break;
                case ConnectionState.Connecting:
                    _closeRequested = true;
                    SetStateLocked(ConnectionState.Closing, null);
                    _session?.FinishLocked(SessionEndKind.Closed, ConnectionClosedError());
                    break;
                case ConnectionState.Disconnected or ConnectionState.Suspended:
                    _closeRequested = true;
                    _wake.TrySetResult();
                    break;
                case ConnectionState.Closing:
                    break;
            }

            waiter = AddWaiterLocked(s => s is ConnectionState.Closed or ConnectionState.Failed);
        }

        await WaitAsync(waiter, cancellationToken).ConfigureAwait(false);
    }

    private static ErrorInfo ConnectionClosedError() => ErrorCodes.Create(ErrorCodes.ConnectionClosed, "Connection closed");

    private void StartLoopLocked()
    {
        _closeRequested = false;
        _disconnectedSinceTicks = null;
        SetStateLocked(ConnectionState.Connecting, null);
        _ = Task.Run(RunAsync);
    }

    private async Task CloseTimeoutAsync(Session session)
    {
        await Task.WhenAny(session.Transport.Completion, Task.Delay(_options.RealtimeRequestTimeout, session.Transport.Stopping)).ConfigureAwait(false);
        lock (Gate)
        {
            session.FinishLocked(SessionEndKind.Closed, ConnectionClosedError());
        }
    }

    private async Task RunAsync()
    {
        var attempts = 0;
        var tokenRenewed = false;
        while (true)
        {
            SessionEnd end;
            bool wasConnected;
            try
            {
                (end, wasConnected) = await RunSessionAsync().ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                // A bug, not a network condition: fail loudly instead of retrying forever.
                LoopFailed(_logger, ex);
                lock (Gate)
                {
                    EnterFailedLocked(ErrorCodes.Create(ErrorCodes.InternalConnectionError, "Connection loop failed: " + ex.Message));
                }

                return;
            }

            TimeSpan delay;
            Task wake;
            lock (Gate)
            {
                FailPingsLocked(end.Reason);
                if (_closeRequested || end.Kind == SessionEndKind.Closed)
                {
                    EnterClosedLocked();
                    return;
                }

                if (end.Kind == SessionEndKind.Failed)
                {
                    EnterFailedLocked(end.Reason);
                    return;
                }

                var now = Environment.TickCount64;
                if (wasConnected)
                {
                    attempts = 0;
                    tokenRenewed = false;
                    _disconnectedSinceTicks = now;
                }

                _disconnectedSinceTicks ??= now;
                var immediate = wasConnected;
                if (AuthProvider.IsTokenError(end.Reason))
                {
                    // Renew once and retry at once (RTN15h2); a second token error in a row backs off as usual.
                    _auth.InvalidateToken();
                    immediate = !tokenRenewed;
                    tokenRenewed = true;
                }

                var ttl = _details is { ConnectionStateTtl: > 0 } details ? TimeSpan.FromMilliseconds(details.ConnectionStateTtl) : _options.ConnectionStateTtl;
                if (now - _disconnectedSinceTicks.Value >= (long)ttl.TotalMilliseconds)
                {
                    delay = _options.SuspendedRetryTimeout;
                    EnterSuspendedLocked(end.Reason, delay);
                }
                else
                {
                    delay = immediate ? TimeSpan.Zero : Backoff.RetryDelay(_options.DisconnectedRetryTimeout, ++attempts);
                    SetStateLocked(ConnectionState.Disconnected, end.Reason, delay);
                }

                _wake = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                wake = _wake.Task;
            }

            if (delay > TimeSpan.Zero)
            {
                using var cancel = new CancellationTokenSource();
                await Task.WhenAny(Task.Delay(delay, cancel.Token), wake).ConfigureAwait(false);
                await cancel.CancelAsync().ConfigureAwait(false);
            }

            lock (Gate)
            {
                if (_closeRequested)
                {
                    EnterClosedLocked();
                    return;
                }

                SetStateLocked(ConnectionState.Connecting, null);
            }
        }
    }

    /// <summary>One transport's life: open, CONNECTED, run until it ends. Returns why it ended.</summary>
    private async Task<(SessionEnd End, bool WasConnected)> RunSessionAsync()
    {
        var transport = new WebSocketTransport(_codec, _logger);
        var session = new Session(transport);
        lock (Gate)
        {
            if (_closeRequested)
            {
                transport.Dispose();
                return (new SessionEnd(SessionEndKind.Closed, ConnectionClosedError()), false);
            }

            _session = session;
        }

        try
        {
            var uri = await BuildUriAsync(session).ConfigureAwait(false);
            if (uri is not null && await OpenAsync(session, uri).ConfigureAwait(false))
            {
                transport.Start(OnFrame);
                await Task.WhenAny(session.Connected.Task, transport.Completion, Task.Delay(_options.RealtimeRequestTimeout, transport.Stopping)).ConfigureAwait(false);
                if (session.Connected.Task.IsCompleted)
                {
                    await MonitorIdleAsync(session).ConfigureAwait(false);
                }
                else
                {
                    lock (Gate)
                    {
                        session.FinishLocked(SessionEndKind.Disconnected, ErrorCodes.Create(ErrorCodes.ConnectionDisconnected, $"No CONNECTED from the server within {_options.RealtimeRequestTimeout}"));
                    }
                }

                var transportReason = await transport.Completion.ConfigureAwait(false);
                lock (Gate)
                {
                    session.FinishLocked(SessionEndKind.Disconnected, transportReason);
                }
            }
        }
        finally
        {
            lock (Gate)
            {
                session.FinishLocked(SessionEndKind.Disconnected, ErrorCodes.Create(ErrorCodes.ConnectionDisconnected, "Connection to the server lost"));
                if (_session == session)
                {
                    _session = null;
                }
            }

            transport.Dispose();
        }

        return (session.End!, session.WasConnected);
    }

    private void EnterSuspendedLocked(ErrorInfo reason, TimeSpan retryIn)
    {
        var suspended = ErrorCodes.Create(80002, "Connection suspended: " + reason.Message);
        var first = _state != ConnectionState.Suspended;
        SetStateLocked(ConnectionState.Suspended, suspended, retryIn);
        if (first)
        {
            FailPublishesLocked(suspended);
            Channels.OnConnectionSuspendedLocked(suspended);
        }
    }

    private void EnterClosedLocked()
    {
        _closeRequested = false;
        ResetConnectionLocked();
        SetStateLocked(ConnectionState.Closed, null);
        FailPublishesLocked(ConnectionClosedError());
        Channels.OnConnectionClosedLocked();
    }

    private void EnterFailedLocked(ErrorInfo reason)
    {
        _closeRequested = false;
        ResetConnectionLocked();
        SetStateLocked(ConnectionState.Failed, reason);
        FailPublishesLocked(reason);
        Channels.OnConnectionFailedLocked(reason);
    }

    private void ResetConnectionLocked()
    {
        _id = null;
        _key = null;
        _msgSerial = 0;
        _disconnectedSinceTicks = null;
    }

    private sealed record SessionEnd(SessionEndKind Kind, ErrorInfo Reason);

    /// <summary>One transport and what happened to it; fields are written under <see cref="Gate"/>.</summary>
    private sealed class Session(WebSocketTransport transport)
    {
        public WebSocketTransport Transport { get; } = transport;

        /// <summary>Completed when this transport's CONNECTED has been processed.</summary>
        public TaskCompletionSource Connected { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public SessionEnd? End { get; private set; }

        public bool WasConnected => Connected.Task.IsCompleted;

        /// <summary>
        /// Ends the transport; the first reason recorded wins. The abort itself runs on the thread pool: cancelling
        /// the transport's token can run awaiting continuations inline, and those must never run inside the lock.
        /// </summary>
        public void FinishLocked(SessionEndKind kind, ErrorInfo reason)
        {
            if (End is null)
            {
                End = new SessionEnd(kind, reason);
                ThreadPool.UnsafeQueueUserWorkItem(static session => session.Transport.Abort(session.End!.Reason), this, preferLocal: false);
            }
        }
    }
}
