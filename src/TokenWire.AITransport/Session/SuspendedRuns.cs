using Microsoft.Extensions.Logging;
using TokenWire.AITransport.Wire;
using TokenWire.Client;

namespace TokenWire.AITransport.Session;

/// <summary>
/// Runs this agent suspended (tool calls awaiting the client), each holding a reference to its session's attachment so
/// that a client's cancel ends the run <c>cancelled</c> (the JS agent, gone once it suspends, leaves such a run
/// suspended), until an answer resumes or forks it, or <see cref="AITransportAgentOptions.SuspendedRunTimeout"/> passes.
/// </summary>
internal sealed class SuspendedRuns(AgentSessions sessions, AITransportAgentOptions options, ILogger logger, Action<Task> track, CancellationToken stopping)
{
    private readonly object _gate = new();
    private readonly Dictionary<string, SuspendedRun> _held = new(StringComparer.Ordinal);

    /// <summary>
    /// Routes the run's cancels to a hold from now on. Called before the suspension is published, so no cancel falls
    /// between the run (whose own token nothing watches once its model has finished) and the hold: then
    /// <see cref="Begin"/> once the suspension is out, or <see cref="Abandon"/> if it never went out.
    /// </summary>
    public SuspendedRun Reserve(AgentSession session, string sessionName, RunIdentity identity)
    {
        var held = new SuspendedRun(session, sessionName, identity);
        lock (_gate)
        {
            _held[identity.RunId] = held;
        }

        session.Register(identity.RunId, identity.InputCodecMessageId, held.Cancel);
        return held;
    }

    /// <summary>
    /// The suspension is published: the hold takes over the finished run's reference to its session, and a cancel
    /// that reached it meanwhile ends the run now.
    /// </summary>
    public void Begin(SuspendedRun held)
    {
        held.Cancel.Token.Register(() => track(ReleaseAsync(held.Identity.RunId, cancelled: true)));
        track(ExpireAsync(held));
    }

    /// <summary>
    /// The suspension was not published (the run ends otherwise). False if the hold had already been let go, and with
    /// it the run's reference to its session.
    /// </summary>
    public bool Abandon(SuspendedRun held)
    {
        lock (_gate)
        {
            if (!_held.TryGetValue(held.Identity.RunId, out var current) || current != held)
            {
                return false;
            }

            _held.Remove(held.Identity.RunId);
        }

        held.Session.Unregister(held.Identity.RunId, held.Identity.InputCodecMessageId, held.Cancel);
        return true;
    }

    /// <summary>Lets go of a suspended run's attachment (if held); a cancelled one first gets its <c>ai-run-end</c>.</summary>
    public async Task ReleaseAsync(string runId, bool cancelled)
    {
        SuspendedRun? held;
        lock (_gate)
        {
            if (!_held.Remove(runId, out held))
            {
                return;
            }
        }

        held.Session.Unregister(runId, held.Identity.InputCodecMessageId, held.Cancel);
        await held.Released.CancelAsync().ConfigureAwait(false);
        if (cancelled)
        {
            try
            {
                using var timeout = new CancellationTokenSource(options.ShutdownPublishTimeout);
                await new RunWriter(new RealtimeAITransportChannel(held.Session.Channel), held.Identity).EndRunAsync(AitStatus.Cancelled, null, null, timeout.Token).ConfigureAwait(false);
                Log.RunEnded(logger, runId, held.SessionName, AitStatus.Cancelled);
            }
            catch (Exception ex) when (ex is AblyException or OperationCanceledException or TimeoutException)
            {
                Log.PublishFailed(logger, ex, runId, held.SessionName);
            }
        }

        await sessions.ReleaseAsync(held.SessionName, held.Session).ConfigureAwait(false);
    }

    private async Task ExpireAsync(SuspendedRun held)
    {
        try
        {
            await Task.Delay(options.SuspendedRunTimeout, held.Released.Token).WaitAsync(stopping).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (held.Released.IsCancellationRequested)
        {
            return;
        }
        catch (OperationCanceledException)
        {
            // The agent is stopping: let go of the attachment, the run stays suspended on the channel.
        }

        await ReleaseAsync(held.Identity.RunId, cancelled: false).ConfigureAwait(false);
    }

    internal sealed class SuspendedRun(AgentSession session, string sessionName, RunIdentity identity)
    {
        public AgentSession Session { get; } = session;

        public string SessionName { get; } = sessionName;

        public RunIdentity Identity { get; } = identity;

        /// <summary>Cancelled by the client's <c>ai-cancel</c> (routed by the session like any run's).</summary>
        public CancellationTokenSource Cancel { get; } = new();

        /// <summary>Cancelled once the hold ends, whatever ended it, so its expiry stops waiting.</summary>
        public CancellationTokenSource Released { get; } = new();
    }
}
