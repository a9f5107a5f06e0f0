namespace TokenWire.AITransport;

/// <summary>
/// How a run's invocation ended: <c>complete</c>, <c>cancelled</c>, <c>error</c>, or <c>suspended</c> (awaiting a
/// client tool's result or an approval), and the assistant text it published.
/// </summary>
public sealed record AITransportRunOutcome(string Reason, string Text, string? Error = null)
{
    public const string Suspended = "suspended";
}

/// <summary>A run the agent started: its ids on the wire, its completion, and a way to cancel it from the server side.</summary>
public sealed class AITransportRun
{
    private readonly CancellationTokenSource _cancel;

    internal AITransportRun(string runId, string invocationId, string sessionName, CancellationTokenSource cancel)
    {
        RunId = runId;
        InvocationId = invocationId;
        SessionName = sessionName;
        _cancel = cancel;
    }

    public string RunId { get; }

    public string InvocationId { get; }

    public string SessionName { get; }

    /// <summary>Completes when <c>ai-run-end</c> or <c>ai-run-suspend</c> has been published (never faults; failures are an <c>error</c> outcome).</summary>
    public Task<AITransportRunOutcome> Completion { get; internal set; } = Task.FromResult(new AITransportRunOutcome("error", string.Empty));

    /// <summary>Stops the model; the run ends <c>cancelled</c> with the text so far, as a client's cancel does.</summary>
    public void Cancel()
    {
        try
        {
            _cancel.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // Already ended.
        }
    }
}
