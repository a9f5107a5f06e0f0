using Microsoft.Extensions.Logging;
using TokenWire.Client;

namespace TokenWire.AITransport.Session;

/// <summary>
/// The agent's session attachments by channel name, reference-counted by the runs (and suspended runs) using them: the
/// first acquire attaches, the last release detaches. Client calls are made outside the lock: the first caller opens
/// the session through a placeholder the others await, and an acquire that meets a release in progress waits for it
/// and attaches afresh.
/// </summary>
internal sealed class AgentSessions(IAITransportClientProvider clients, ILogger logger, CancellationToken stopping)
{
    private readonly object _gate = new();
    private readonly Dictionary<string, Task<AgentSession>> _sessions = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Task> _releasing = new(StringComparer.Ordinal);

    /// <summary>The session for <paramref name="name"/>, attached, with one more reference.</summary>
    public async Task<AgentSession> AcquireAsync(string name, CancellationToken cancellationToken)
    {
        while (true)
        {
            Task<AgentSession>? existing = null;
            Task? releasing = null;
            TaskCompletionSource<AgentSession>? opening = null;
            lock (_gate)
            {
                if (_releasing.TryGetValue(name, out var release))
                {
                    releasing = release;
                }
                else if (_sessions.TryGetValue(name, out var current))
                {
                    existing = current;
                }
                else
                {
                    opening = new TaskCompletionSource<AgentSession>(TaskCreationOptions.RunContinuationsAsynchronously);
                    _sessions[name] = opening.Task;
                }
            }

            if (releasing is not null)
            {
                // The previous attachment is being released: wait for it, then attach afresh.
                await releasing.WaitAsync(cancellationToken).ConfigureAwait(false);
                await Task.Yield();
                continue;
            }

            if (opening is not null)
            {
                try
                {
                    opening.SetResult(await OpenAsync(name).ConfigureAwait(false));
                }
                catch (Exception ex)
                {
                    lock (_gate)
                    {
                        _sessions.Remove(name);
                    }

                    opening.SetException(ex);
                }

                existing = opening.Task;
            }

            var session = await existing!.WaitAsync(cancellationToken).ConfigureAwait(false);
            lock (_gate)
            {
                if (_sessions.TryGetValue(name, out var current) && current == existing)
                {
                    session.References++;
                    return session;
                }
            }
        }
    }

    /// <summary>Drops one reference; the last one detaches the session and releases its channel.</summary>
    public async Task ReleaseAsync(string name, AgentSession session)
    {
        var released = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_gate)
        {
            if (--session.References > 0)
            {
                return;
            }

            _sessions.Remove(name);
            _releasing[name] = released.Task;
        }

        try
        {
            await DetachAsync(name, session).ConfigureAwait(false);
        }
        finally
        {
            lock (_gate)
            {
                _releasing.Remove(name);
            }

            released.SetResult();
        }
    }

    private async Task<AgentSession> OpenAsync(string name)
    {
        var client = await clients.GetClientAsync(stopping).ConfigureAwait(false);
        var session = new AgentSession(client.Channels.Get(name));
        await session.AttachAsync(stopping).ConfigureAwait(false);
        return session;
    }

    private async Task DetachAsync(string name, AgentSession session)
    {
        session.Detach();
        try
        {
            var client = await clients.GetClientAsync(CancellationToken.None).ConfigureAwait(false);
            await client.Channels.ReleaseAsync(name).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is AblyException or OperationCanceledException or TimeoutException)
        {
            Log.ReleaseFailed(logger, ex, name);
        }
    }
}
