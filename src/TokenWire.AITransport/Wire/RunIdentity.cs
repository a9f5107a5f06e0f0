using TokenWire.AITransport.Conversation;

namespace TokenWire.AITransport.Wire;

/// <summary>
/// Who and what one run is on the wire: the ids the JS agent stamps on every lifecycle event and output. The run is
/// the triggering input's (<c>input-client-id</c> is its publisher, <c>run-client-id</c> the run owner it names), the
/// invocation and the assistant message are minted per request, and the run has one transport step,
/// <c>{invocationId}-step-0</c>. <see cref="Parent"/>, <see cref="ForkOf"/> and <see cref="Regenerates"/> place the
/// reply in the conversation tree; a <see cref="Continuation"/> re-enters a run the client named and opens with
/// <c>ai-run-resume</c> instead.
/// </summary>
public sealed record RunIdentity(string RunId, string InvocationId, string InputCodecMessageId, string InputClientId, string AssistantCodecMessageId)
{
    private readonly string? _runParent;

    public string StepId => InvocationId + "-step-0";

    /// <summary>The run owner (<c>run-client-id</c>): the client the triggering input names, not necessarily its publisher.</summary>
    public string RunClientId { get; init; } = InputClientId;

    /// <summary>
    /// The codec message id the reply follows (<c>parent</c>) and the leaf of the branch the model is given: the
    /// triggering input when it is a message of the conversation, else (a <c>regenerate</c> signal, which is no
    /// message) the parent that input names — the prompt whose answer is regenerated.
    /// </summary>
    public string? Parent { get; init; } = InputCodecMessageId;

    /// <summary>
    /// Where the run hangs in the tree (<c>parent</c> on <c>ai-run-start</c>): <see cref="Parent"/>, except for a client
    /// tool result's fork, whose input is the suspended reply rebuilt, so the run hangs where the suspended run did —
    /// as its sibling — while its outputs follow the rebuilt reply.
    /// </summary>
    public string? RunParent
    {
        get => _runParent ?? Parent;
        init => _runParent = value;
    }

    /// <summary>The user message an edited input replaces (<c>fork-of</c>), echoed on the run and its outputs.</summary>
    public string? ForkOf { get; init; }

    /// <summary>The assistant message this run regenerates (<c>msg-regenerate</c>), echoed on the run and its outputs.</summary>
    public string? Regenerates { get; init; }

    /// <summary>The input carried a run id: it resumes that run (a tool approval, a result for a suspended run).</summary>
    public bool Continuation { get; init; }

    public static RunIdentity Create(string? runId, string inputCodecMessageId, string? inputClientId) =>
        new(runId ?? Guid.NewGuid().ToString(), Guid.NewGuid().ToString(), inputCodecMessageId, inputClientId ?? string.Empty, Guid.NewGuid().ToString());

    /// <summary>
    /// The identity of the run <paramref name="trigger"/> starts, as the JS agent resolves it from the input's
    /// headers: a run id on the input is a continuation of that run, none a fresh run with a minted id.
    /// </summary>
    public static RunIdentity ForTrigger(WireMessage trigger, IReadOnlyDictionary<string, UIMessage> conversation)
    {
        ArgumentNullException.ThrowIfNull(trigger);
        ArgumentNullException.ThrowIfNull(conversation);
        var inputId = trigger.Header(AitHeaders.CodecMessageId) ?? throw new ArgumentException("The trigger has no codec-message-id", nameof(trigger));
        var runId = trigger.Header(AitHeaders.RunId);
        var parent = conversation.ContainsKey(inputId) ? inputId : trigger.Header(AitHeaders.Parent);
        var rebuiltReply = conversation.TryGetValue(inputId, out var input) && input.Role == "assistant";
        return Create(runId, inputId, trigger.ClientId) with
        {
            RunClientId = trigger.Header(AitHeaders.RunClientId) ?? string.Empty,
            Parent = parent,
            RunParent = rebuiltReply ? trigger.Header(AitHeaders.Parent) : null,
            ForkOf = trigger.Header(AitHeaders.ForkOf),
            Regenerates = trigger.Header(AitHeaders.MsgRegenerate),
            Continuation = runId is not null,
        };
    }
}
