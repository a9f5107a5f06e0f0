using TokenWire.AITransport.Wire;
using TokenWire.Client;
using TokenWire.Protocol;

namespace TokenWire.AITransport.Session;

/// <summary>
/// The agent's attachment to one session channel, shared by the runs in flight on it. Subscribed before attaching, it
/// keeps every message delivered since the attach (history <c>untilAttach</c> plus this log is the whole channel, each
/// message once) and routes <c>ai-cancel</c> to runs by <c>run-id</c> or, for a cancel that raced ahead of its run, by
/// <c>input-codec-message-id</c>, buffered until the run is known — as the JS agent session does.
/// </summary>
internal sealed class AgentSession
{
    /// <summary>Early cancels are rare (one per fresh send at most); the bound only stops a flood growing memory.</summary>
    private const int MaxDeferredCancels = 64;

    private readonly object _gate = new();
    private readonly List<Message> _live = [];
    private readonly Dictionary<string, CancellationTokenSource> _runsById = new(StringComparer.Ordinal);
    private readonly Dictionary<string, CancellationTokenSource> _runsByInput = new(StringComparer.Ordinal);
    private readonly Queue<string> _deferredCancels = new();
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private IDisposable? _subscription;

    public AgentSession(RealtimeChannel channel)
    {
        Channel = channel;
    }

    public RealtimeChannel Channel { get; }

    /// <summary>Runs holding this session; it is released when the last one ends.</summary>
    public int References { get; set; }

    public async Task AttachAsync(CancellationToken cancellationToken)
    {
        _subscription = Channel.Subscribe(OnMessage);
        await Channel.AttachAsync(cancellationToken).ConfigureAwait(false);
    }

    public void Detach() => _subscription?.Dispose();

    /// <summary>The live messages from index <paramref name="from"/> on, and a task that completes when more arrive.</summary>
    public (IReadOnlyList<Message> Messages, Task Changed) LiveSince(int from)
    {
        lock (_gate)
        {
            return (_live.Count > from ? _live.GetRange(from, _live.Count - from) : [], _changed.Task);
        }
    }

    /// <summary>Makes the run cancellable by the channel; a cancel that came before it is honoured now.</summary>
    public void Register(string runId, string inputCodecMessageId, CancellationTokenSource cancel)
    {
        bool deferred;
        lock (_gate)
        {
            _runsById[runId] = cancel;
            _runsByInput[inputCodecMessageId] = cancel;
            deferred = _deferredCancels.Contains(inputCodecMessageId);
        }

        if (deferred)
        {
            Cancel(cancel);
        }
    }

    /// <summary>Removes the run's routes if they are still <paramref name="cancel"/>'s (a resumed run re-registers the id).</summary>
    public void Unregister(string runId, string inputCodecMessageId, CancellationTokenSource cancel)
    {
        lock (_gate)
        {
            if (_runsById.TryGetValue(runId, out var byId) && byId == cancel)
            {
                _runsById.Remove(runId);
            }

            if (_runsByInput.TryGetValue(inputCodecMessageId, out var byInput) && byInput == cancel)
            {
                _runsByInput.Remove(inputCodecMessageId);
            }
        }
    }

    private void OnMessage(Message message)
    {
        if (message.Name == AitEvents.Cancel)
        {
            OnCancel(message);
            return;
        }

        TaskCompletionSource changed;
        lock (_gate)
        {
            _live.Add(message);
            changed = _changed;
            _changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        changed.TrySetResult();
    }

    private void OnCancel(Message message)
    {
        var (transport, _) = Conversation.WireMessage.ReadHeaders(message);
        transport.TryGetValue(AitHeaders.RunId, out var runId);
        transport.TryGetValue(AitHeaders.InputCodecMessageId, out var inputId);
        CancellationTokenSource? target = null;
        lock (_gate)
        {
            if (runId is not null && _runsById.TryGetValue(runId, out var byId))
            {
                target = byId;
            }
            else if (inputId is not null && _runsByInput.TryGetValue(inputId, out var byInput))
            {
                target = byInput;
            }
            else if (inputId is not null)
            {
                // A fresh send's cancel can beat the invocation here: keep it for the run that input starts.
                _deferredCancels.Enqueue(inputId);
                if (_deferredCancels.Count > MaxDeferredCancels)
                {
                    _deferredCancels.Dequeue();
                }
            }
        }

        if (target is not null)
        {
            Cancel(target);
        }
    }

    private static void Cancel(CancellationTokenSource cancel)
    {
        try
        {
            cancel.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // The run ended meanwhile.
        }
    }
}
