using System.Diagnostics;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using TokenWire.AITransport.Conversation;
using TokenWire.AITransport.Session;
using TokenWire.AITransport.Wire;
using TokenWire.Client;
using TokenWire.Protocol;

namespace TokenWire.AITransport;

/// <summary>
/// A .NET agent for <c>@ably/ai-transport</c> 0.8 clients. Each invocation (what the JS client posts) becomes a run on
/// the session's channel: the conversation is read from the channel (history up to the attach plus what arrived
/// since, folded as the SDK folds it, following <c>parent</c> from the triggering input), the model is asked with it,
/// and the answer goes out as the JS agent publishes it (<see cref="RunWriter"/>). Runs on one session are independent
/// and may overlap (a second prompt while one streams starts a second run, as with the JS agent). A client's
/// <c>ai-cancel</c> stops the model through its <see cref="CancellationToken"/>; the run ends <c>cancelled</c> with the
/// text so far. One attachment per session channel is shared by its runs and released when the last ends.
/// </summary>
public sealed class AITransportAgent : IAsyncDisposable
{
    private readonly IAITransportClientProvider _clients;
    private readonly IChatClient _model;
    private readonly AITransportAgentOptions _options;
    private readonly ILogger _logger;
    private readonly AITransportMetrics _metrics;
    private readonly CancellationTokenSource _stopping = new();
    private readonly object _gate = new();
    private readonly Dictionary<string, Task<AgentSession>> _sessions = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Task> _releasing = new(StringComparer.Ordinal);
    private readonly HashSet<Task> _running = [];
    private readonly Dictionary<string, SuspendedRun> _suspended = new(StringComparer.Ordinal);

    /// <param name="meterFactory">Where its meter <c>TokenWire.AITransport</c> is created (DI's); else it makes its own.</param>
    public AITransportAgent(IAITransportClientProvider clients, IChatClient model, IOptions<AITransportAgentOptions>? options = null, ILogger<AITransportAgent>? logger = null, IMeterFactory? meterFactory = null)
    {
        _metrics = new AITransportMetrics(meterFactory);
        _clients = clients ?? throw new ArgumentNullException(nameof(clients));
        _model = model ?? throw new ArgumentNullException(nameof(model));
        _options = options?.Value ?? new AITransportAgentOptions();
        _logger = (ILogger?)logger ?? NullLogger.Instance;
    }

    /// <summary>
    /// Starts a run for <paramref name="invocation"/>: returns once the input is located and <c>ai-run-start</c> is
    /// published; the answer streams on in the background (see <see cref="AITransportRun.Completion"/>).
    /// <paramref name="cancellationToken"/> bounds only this start (an HTTP request's abort), not the run.
    /// </summary>
    /// <exception cref="AITransportException">The input event is not on the channel (40400).</exception>
    /// <exception cref="AblyException">The channel refused the agent (e.g. 40160 without rights, 93002 not mutable).</exception>
    public async Task<AITransportRun> StartRunAsync(AITransportInvocation invocation, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(invocation);
        ObjectDisposedException.ThrowIf(_stopping.IsCancellationRequested, this);
        var started = Stopwatch.GetTimestamp();
        var activity = AITransportMetrics.Source.StartActivity("tokenwire.ai_transport.run");
        activity?.SetTag("messaging.destination.name", invocation.SessionName);
        using var start = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _stopping.Token);
        AgentSession session;
        try
        {
            session = await AcquireAsync(invocation.SessionName, start.Token).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            activity?.SetStatus(ActivityStatusCode.Error, ex.Message);
            activity?.Dispose();
            throw;
        }

        Log.Stage(_logger, invocation.InputEventId, invocation.SessionName, "attached");
        var cancel = CancellationTokenSource.CreateLinkedTokenSource(_stopping.Token);
        RunIdentity? identity = null;
        try
        {
            var (conversation, trigger, cancelledEarly) = await HydrateAsync(session, invocation, start.Token).ConfigureAwait(false);
            Log.Stage(_logger, invocation.InputEventId, invocation.SessionName, "input located");
            identity = RunIdentity.ForTrigger(trigger, conversation);
            var branch = identity.Parent is { } leaf ? ConversationBuilder.Branch(conversation, leaf) : [];
            var messages = ChatMessageConverter.ToChatMessages(branch);
            var priorCalls = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var tool in branch.SelectMany(m => m.Parts).OfType<ToolPart>())
            {
                priorCalls[tool.ToolCallId] = tool.State;
            }
            // The input resumes a run this agent suspended, or forks it (a client tool's result supersedes it): that
            // run no longer waits for a cancel here.
            if ((identity.Continuation ? identity.RunId : trigger.Header(AitHeaders.Supersedes)) is { } answered)
            {
                await ReleaseSuspendedAsync(answered, cancelled: false).ConfigureAwait(false);
            }

            session.Register(identity.RunId, identity.InputCodecMessageId, cancel);
            if (cancelledEarly)
            {
                // The client cancelled before this attachment existed (the SDK stamps cancels so history shows them).
                await cancel.CancelAsync().ConfigureAwait(false);
            }

            var writer = new RunWriter(new RealtimeAITransportChannel(session.Channel), identity);
            // Not bounded by the request: a run-start whose caller went away must still get its step and its end.
            await writer.StartRunAsync(_stopping.Token).ConfigureAwait(false);
            await writer.StartStepAsync(_stopping.Token).ConfigureAwait(false);
            Log.RunStarted(_logger, identity.RunId, invocation.SessionName, identity.InvocationId, messages.Count);
            var run = new AITransportRun(identity.RunId, identity.InvocationId, invocation.SessionName, cancel);
            activity?.SetTag("tokenwire.ai_transport.run_id", identity.RunId);
            var completion = StreamAsync(session, invocation.SessionName, identity, writer, messages, priorCalls, cancel, new RunTelemetry(activity, started));
            run.Completion = completion;
            Track(completion);
            return run;
        }
        catch
        {
            if (identity is not null)
            {
                session.Unregister(identity.RunId, identity.InputCodecMessageId, cancel);
            }

            cancel.Dispose();
            activity?.SetStatus(ActivityStatusCode.Error);
            activity?.Dispose();
            await ReleaseAsync(invocation.SessionName, session).ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Cancels every run (each ends <c>cancelled</c>) and waits for their last publishes.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_stopping.IsCancellationRequested)
        {
            return;
        }

        await _stopping.CancelAsync().ConfigureAwait(false);
        Task[] running;
        lock (_gate)
        {
            running = [.. _running];
        }

        await Task.WhenAll(running).ConfigureAwait(false);
    }

    private void Track(Task completion)
    {
        lock (_gate)
        {
            _running.Add(completion);
        }

        completion.ContinueWith(
            t =>
            {
                lock (_gate)
                {
                    _running.Remove(t);
                }
            },
            CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default);
    }

    /// <summary>
    /// The folded conversation (every branch) and the triggering input: history up to the attach, then what arrived
    /// live, folded per serial; waits (bounded) for an input that has not reached this attachment yet.
    /// </summary>
    private async Task<(Dictionary<string, UIMessage> Conversation, WireMessage Trigger, bool CancelledEarly)> HydrateAsync(AgentSession session, AITransportInvocation invocation, CancellationToken cancellationToken)
    {
        var log = new WireLog();
        var page = await session.Channel.HistoryAsync(new HistoryRequest { UntilAttach = true, Limit = 100 }, cancellationToken).ConfigureAwait(false);
        for (var pages = 1; ; pages++)
        {
            foreach (var message in page.Items)
            {
                log.Add(message);
            }

            if (!page.HasNext || pages >= _options.MaxHistoryPages)
            {
                break;
            }

            page = await page.NextAsync(cancellationToken).ConfigureAwait(false);
        }

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_options.InputTimeout);
        var seen = 0;
        while (true)
        {
            var (live, changed) = session.LiveSince(seen);
            seen += live.Count;
            foreach (var message in live)
            {
                log.Add(message);
            }

            var ordered = log.Ordered();
            var trigger = ordered.FirstOrDefault(m => m.Name == AitEvents.Input && m.Header(AitHeaders.EventId) == invocation.InputEventId);
            if (trigger?.Header(AitHeaders.CodecMessageId) is { Length: > 0 } inputId)
            {
                var cancelled = ordered.Any(m => m.Name == AitEvents.Cancel && m.Header(AitHeaders.InputCodecMessageId) == inputId);
                return (ConversationBuilder.Fold(ordered), trigger, cancelled);
            }

            try
            {
                await changed.WaitAsync(timeout.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                throw new AITransportException(AITransportException.InputNotFound, $"No input with event-id '{invocation.InputEventId}' on session '{invocation.SessionName}'");
            }
        }
    }

    private async Task<AITransportRunOutcome> StreamAsync(AgentSession session, string sessionName, RunIdentity identity, RunWriter writer, List<ChatMessage> messages, IReadOnlyDictionary<string, string> priorCalls, CancellationTokenSource cancel, RunTelemetry telemetry)
    {
        var outcome = await StreamCoreAsync(session, sessionName, identity, writer, messages, priorCalls, cancel, telemetry).ConfigureAwait(false);
        _metrics.RunEnded(outcome.Reason, telemetry.Tokens, telemetry.FirstToken, Stopwatch.GetElapsedTime(telemetry.Started));
        if (telemetry.Activity is { } activity)
        {
            activity.SetTag("tokenwire.ai_transport.outcome", outcome.Reason);
            activity.SetTag("tokenwire.ai_transport.tokens", telemetry.Tokens);
            if (outcome.Reason == AitStatus.Error)
            {
                activity.SetStatus(ActivityStatusCode.Error, outcome.Error);
            }

            activity.Dispose();
        }

        return outcome;
    }

    private async Task<AITransportRunOutcome> StreamCoreAsync(AgentSession session, string sessionName, RunIdentity identity, RunWriter writer, List<ChatMessage> messages, IReadOnlyDictionary<string, string> priorCalls, CancellationTokenSource cancel, RunTelemetry telemetry)
    {
        await Task.Yield();
        var mapper = new Codec.UIChunkMapper(_options.IncludeUsage, priorCalls);
        var text = new System.Text.StringBuilder();
        var reason = AitStatus.Complete;
        string? error = null;
        var suspended = false;
        using var publishing = new CancellationTokenSource();
        using var stopRegistration = _stopping.Token.Register(() => publishing.CancelAfter(_options.ShutdownPublishTimeout));
        try
        {
            try
            {
                var chatOptions = _options.ChatOptions?.Clone();
                await using var updates = _model.GetStreamingResponseAsync(messages, chatOptions, cancel.Token).GetAsyncEnumerator(cancel.Token);
                while (true)
                {
                    bool more;
                    try
                    {
                        more = await updates.MoveNextAsync().ConfigureAwait(false);
                    }
                    catch (OperationCanceledException) when (cancel.IsCancellationRequested)
                    {
                        reason = AitStatus.Cancelled;
                        break;
                    }
                    catch (Exception ex)
                    {
                        Log.ModelFailed(_logger, ex, identity.RunId);
                        error = ex.Message;
                        foreach (var chunk in mapper.Fail(_options.ErrorText(ex)))
                        {
                            await writer.WriteAsync(chunk, publishing.Token).ConfigureAwait(false);
                        }

                        break;
                    }

                    if (!more)
                    {
                        foreach (var chunk in mapper.Complete())
                        {
                            await writer.WriteAsync(chunk, publishing.Token).ConfigureAwait(false);
                        }

                        break;
                    }

                    foreach (var chunk in mapper.Map(updates.Current))
                    {
                        if (chunk is Codec.TextDeltaChunk delta)
                        {
                            text.Append(delta.Delta);
                            telemetry.TextDelta();
                        }

                        await writer.WriteAsync(chunk, publishing.Token).ConfigureAwait(false);
                    }
                }
            }
            catch (OperationCanceledException) when (cancel.IsCancellationRequested && !publishing.IsCancellationRequested)
            {
                // Cancelled while the model call was being set up.
                reason = AitStatus.Cancelled;
            }

            // The AI SDK ends a failed model call with error/finish chunks and the JS agent still ends the run
            // complete; blocks left open are closed cancelled by the encoder, as here.
            writer.CloseOpenStreams(AitStatus.Cancelled, publishing.Token);
            await writer.FlushAsync(publishing.Token).ConfigureAwait(false);
            await writer.EndStepAsync(reason == AitStatus.Cancelled ? AitStatus.Cancelled : AitStatus.Complete, publishing.Token).ConfigureAwait(false);
            if (reason == AitStatus.Complete && error is null && mapper.Suspends)
            {
                // Tool calls await the client (its tool's result, or the user's approval): the run resumes on its answer.
                reason = AITransportRunOutcome.Suspended;
                await writer.SuspendRunAsync(publishing.Token).ConfigureAwait(false);
                suspended = true;
            }
            else
            {
                await writer.EndRunAsync(reason, null, null, publishing.Token).ConfigureAwait(false);
            }

            Log.RunEnded(_logger, identity.RunId, sessionName, reason);
            return new AITransportRunOutcome(reason, text.ToString(), error);
        }
        catch (Exception ex)
        {
            Log.PublishFailed(_logger, ex, identity.RunId, sessionName);
            await TryEndWithErrorAsync(writer, ex, publishing.Token).ConfigureAwait(false);
            return new AITransportRunOutcome(AitStatus.Error, text.ToString(), ex.Message);
        }
        finally
        {
            session.Unregister(identity.RunId, identity.InputCodecMessageId, cancel);
            cancel.Dispose();
            if (suspended)
            {
                // The attachment (this run's reference to it) stays, so the client can still cancel the run.
                HoldSuspended(session, sessionName, identity);
            }
            else
            {
                await ReleaseAsync(sessionName, session).ConfigureAwait(false);
            }
        }
    }

    /// <summary>
    /// Keeps a suspended run's attachment so that a client's cancel ends the run <c>cancelled</c> (the JS agent, gone
    /// once it suspends, leaves such a run suspended), until an answer resumes or forks it, or
    /// <see cref="AITransportAgentOptions.SuspendedRunTimeout"/> passes.
    /// </summary>
    private void HoldSuspended(AgentSession session, string sessionName, RunIdentity identity)
    {
        var held = new SuspendedRun(session, sessionName, identity);
        lock (_gate)
        {
            _suspended[identity.RunId] = held;
        }

        session.Register(identity.RunId, identity.InputCodecMessageId, held.Cancel);
        held.Cancel.Token.Register(() => Track(ReleaseSuspendedAsync(identity.RunId, cancelled: true)));
        Track(ExpireAsync(held));
    }

    private async Task ExpireAsync(SuspendedRun held)
    {
        try
        {
            await Task.Delay(_options.SuspendedRunTimeout, held.Released.Token).WaitAsync(_stopping.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (held.Released.IsCancellationRequested)
        {
            return;
        }
        catch (OperationCanceledException)
        {
            // The agent is stopping: let go of the attachment, the run stays suspended on the channel.
        }

        await ReleaseSuspendedAsync(held.Identity.RunId, cancelled: false).ConfigureAwait(false);
    }

    /// <summary>Lets go of a suspended run's attachment; a cancelled one first gets its <c>ai-run-end</c>.</summary>
    private async Task ReleaseSuspendedAsync(string runId, bool cancelled)
    {
        SuspendedRun? held;
        lock (_gate)
        {
            if (!_suspended.Remove(runId, out held))
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
                using var timeout = new CancellationTokenSource(_options.ShutdownPublishTimeout);
                await new RunWriter(new RealtimeAITransportChannel(held.Session.Channel), held.Identity).EndRunAsync(AitStatus.Cancelled, null, null, timeout.Token).ConfigureAwait(false);
                Log.RunEnded(_logger, runId, held.SessionName, AitStatus.Cancelled);
            }
            catch (Exception ex) when (ex is AblyException or OperationCanceledException or TimeoutException)
            {
                Log.PublishFailed(_logger, ex, runId, held.SessionName);
            }
        }

        await ReleaseAsync(held.SessionName, held.Session).ConfigureAwait(false);
    }

    private static async Task TryEndWithErrorAsync(RunWriter writer, Exception ex, CancellationToken cancellationToken)
    {
        try
        {
            var code = ex is AblyException ably ? ably.ErrorInfo.Code : 50000;
            await writer.EndRunAsync(AitStatus.Error, code, "unable to complete run; " + ex.Message, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception)
        {
            // The channel is gone; the client sees the run unfinished, as it would with a crashed JS agent.
        }
    }

    /// <summary>
    /// The session for <paramref name="name"/>, attached, with one more reference. Client calls are made outside
    /// <see cref="_gate"/>: the first caller opens the session through a placeholder the others await.
    /// </summary>
    private async Task<AgentSession> AcquireAsync(string name, CancellationToken cancellationToken)
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

    private async Task<AgentSession> OpenAsync(string name)
    {
        var client = await _clients.GetClientAsync(_stopping.Token).ConfigureAwait(false);
        var session = new AgentSession(client.Channels.Get(name));
        await session.AttachAsync(_stopping.Token).ConfigureAwait(false);
        return session;
    }

    private async Task ReleaseAsync(string name, AgentSession session)
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

    private async Task DetachAsync(string name, AgentSession session)
    {
        session.Detach();
        try
        {
            var client = await _clients.GetClientAsync(CancellationToken.None).ConfigureAwait(false);
            await client.Channels.ReleaseAsync(name).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is AblyException or OperationCanceledException or TimeoutException)
        {
            Log.ReleaseFailed(_logger, ex, name);
        }
    }

    /// <summary>A run this agent suspended, holding a reference to its session's attachment.</summary>
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

    /// <summary>One run's measurements, kept by its stream and recorded once it ends.</summary>
    private sealed class RunTelemetry(Activity? activity, long started)
    {
        public Activity? Activity { get; } = activity;

        public long Started { get; } = started;

        public int Tokens { get; private set; }

        public TimeSpan? FirstToken { get; private set; }

        public void TextDelta()
        {
            if (Tokens++ == 0)
            {
                FirstToken = Stopwatch.GetElapsedTime(Started);
            }
        }
    }
}
