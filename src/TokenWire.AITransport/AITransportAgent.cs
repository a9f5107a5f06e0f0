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
    private readonly IChatClient _model;
    private readonly AITransportAgentOptions _options;
    private readonly ILogger _logger;
    private readonly AITransportMetrics _metrics;
    private readonly CancellationTokenSource _stopping = new();
    private readonly object _gate = new();
    private readonly HashSet<Task> _running = [];
    private readonly AgentSessions _sessions;
    private readonly SuspendedRuns _suspended;

    /// <param name="meterFactory">Where its meter <c>TokenWire.AITransport</c> is created (DI's); else it makes its own.</param>
    public AITransportAgent(IAITransportClientProvider clients, IChatClient model, IOptions<AITransportAgentOptions>? options = null, ILogger<AITransportAgent>? logger = null, IMeterFactory? meterFactory = null)
    {
        _metrics = new AITransportMetrics(meterFactory);
        ArgumentNullException.ThrowIfNull(clients);
        _model = model ?? throw new ArgumentNullException(nameof(model));
        _options = options?.Value ?? new AITransportAgentOptions();
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        _sessions = new AgentSessions(clients, _logger, _stopping.Token);
        _suspended = new SuspendedRuns(_sessions, _options, _logger, Track, _stopping.Token);
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
            session = await _sessions.AcquireAsync(invocation.SessionName, start.Token).ConfigureAwait(false);
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
                await _suspended.ReleaseAsync(answered, cancelled: false).ConfigureAwait(false);
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
            await _sessions.ReleaseAsync(invocation.SessionName, session).ConfigureAwait(false);
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
        var history = 0;
        for (var pages = 1; ; pages++)
        {
            foreach (var message in page.Items)
            {
                log.Add(message);
            }

            history += page.Items.Count;

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
                // What was read says whether the input never came or came unrecognised.
                throw new AITransportException(
                    AITransportException.InputNotFound,
                    $"No input with event-id '{invocation.InputEventId}' on session '{invocation.SessionName}' (read {history} messages of history up to the attach, {seen} since)");
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
        SuspendedRuns.SuspendedRun? hold = null;
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
            var suspends = reason == AitStatus.Complete && error is null && mapper.Suspends;
            if (suspends)
            {
                // Cancels go to the hold before the suspension is visible; one that reached the run after its model
                // finished ends it cancelled rather than suspended.
                hold = _suspended.Reserve(session, sessionName, identity);
                suspends = !cancel.IsCancellationRequested;
                reason = suspends ? reason : AitStatus.Cancelled;
            }

            if (suspends)
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
                _suspended.Begin(hold!);
            }
            else if (hold is null || _suspended.Abandon(hold))
            {
                await _sessions.ReleaseAsync(sessionName, session).ConfigureAwait(false);
            }
        }
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
