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

    /// <summary>Takes over the finished run's reference to <paramref name="session"/> and routes its cancels here.</summary>
    public void Hold(AgentSession session, string sessionName, RunIdentity identity)
    {
        var held = new SuspendedRun(session, sessionName, identity);
        lock (_gate)
        {
            _held[identity.RunId] = held;
        }

        session.Register(identity.RunId, identity.InputCodecMessageId, held.Cancel);
        held.Cancel.Token.Register(() => track(ReleaseAsync(identity.RunId, cancelled: true)));
        track(ExpireAsync(held));
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

    private sealed class SuspendedRun(AgentSession session, string sessionName, RunIdentity identity)
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
