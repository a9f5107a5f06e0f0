namespace TokenWire.Server.Publishing;

/// <summary>
/// One realtime publish's place in its connection's order on one channel. Publishes are pipelined (each is issued
/// before the previous one's append returns), so when an engine outage makes some of them fail and be retried, a
/// retry could overtake an earlier publish. Each publish therefore names the earlier one still unsettled when it was
/// issued; <see cref="LogWriter"/> passes that one's message id to the log as <c>after</c>, and the log refuses the
/// append until the predecessor is stored. Settled once, by the session, when the publish's outcome is known.
/// </summary>
public sealed class AppendOrder
{
    private readonly Lock _gate = new();
    private AppendOrder? _previous;
    private AppendOutcome _outcome;
    private TaskCompletionSource? _settled;

    /// <param name="id">The id of the publish's first message: what a later publish names as <c>after</c>.</param>
    /// <param name="previous">The connection's previous publish on the channel.</param>
    public AppendOrder(string id, AppendOrder? previous)
    {
        Id = id;
        _previous = Unsettled(previous);
    }

    public string Id { get; private set; }

    public AppendOutcome Outcome
    {
        get
        {
            lock (_gate)
            {
                return _outcome;
            }
        }
    }

    /// <summary>The publish that must be stored before this one, at the time of asking; null when none is pending.</summary>
    public AppendOrder? Predecessor
    {
        get
        {
            lock (_gate)
            {
                return _previous = Unsettled(_previous);
            }
        }
    }

    public void Settle(AppendOutcome outcome)
    {
        TaskCompletionSource? settled;
        lock (_gate)
        {
            if (_outcome != AppendOutcome.Pending)
            {
                return;
            }

            _outcome = outcome;
            // A stored publish ends the chain for its successors; a refused one passes them on to its own predecessor.
            if (outcome == AppendOutcome.Stored)
            {
                _previous = null;
            }

            settled = _settled;
        }

        settled?.TrySetResult();
    }

    /// <summary>
    /// Makes this order the next publish's, with <paramref name="id"/>, when it is stored: a stored publish ends its
    /// chain, and only the session's latest order per channel is restarted, so no later publish names this one. A
    /// connection publishing on one channel then costs no new order per publish. False (unchanged) otherwise.
    /// </summary>
    public bool TryRestart(string id)
    {
        lock (_gate)
        {
            if (_outcome != AppendOutcome.Stored)
            {
                return false;
            }

            Id = id;
            _outcome = AppendOutcome.Pending;
            _previous = null;
            _settled = null;
            return true;
        }
    }

    /// <summary>Completes once the publish is settled (only the slow path waits, so the signal is made on demand).</summary>
    public Task WhenSettledAsync(CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            if (_outcome != AppendOutcome.Pending)
            {
                return Task.CompletedTask;
            }

            _settled ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            return _settled.Task.WaitAsync(cancellationToken);
        }
    }

    /// <summary>
    /// The first publish from <paramref name="order"/> back that is still pending: a stored one means nothing earlier is
    /// pending; a refused one (never stored) hands over to its own predecessor; one with an unknown outcome (given up
    /// during an outage: it may yet be stored) is returned as it is, and nothing after it may be stored unless it is.
    /// </summary>
    private static AppendOrder? Unsettled(AppendOrder? order)
    {
        while (order is not null)
        {
            AppendOrder? previous;
            lock (order._gate)
            {
                switch (order._outcome)
                {
                    case AppendOutcome.Pending or AppendOutcome.Unknown:
                        return order;
                    case AppendOutcome.Stored:
                        return null;
                }

                previous = order._previous;
            }

            order = previous;
        }

        return null;
    }
}

/// <summary>How a publish ended, as far as its successors' order is concerned.</summary>
public enum AppendOutcome
{
    Pending,

    /// <summary>In the log (appended now, or earlier under the same id).</summary>
    Stored,

    /// <summary>Refused, or nothing in it is stored (ephemeral only): successors need not wait for it.</summary>
    NotStored,

    /// <summary>Given up during an outage: it may or may not be in the log.</summary>
    Unknown,
}
