using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.AI;

namespace TokenWire.AITransport.Codec;

/// <summary>
/// Maps one response's <see cref="ChatResponseUpdate"/>s to UI-message chunks in the order the AI SDK emits them:
/// <c>start</c>, <c>start-step</c>, text and reasoning as start/delta/end blocks, a tool call as
/// <c>tool-input-available</c> (followed by <c>tool-approval-request</c> when it needs approval) and its result (from a
/// function-invoking client) as <c>tool-output-available</c> or <c>tool-output-error</c>, a new step after tool
/// results, then <c>finish-step</c> and <c>finish</c> with the finish reason and, when asked, the usage as message
/// metadata. Calls made in earlier runs (<paramref name="priorCalls"/>, by call id with their tool-part state) are not
/// published again when a function-invoking client repeats them on resuming: an approved one's result goes out before
/// the step opens, as the AI SDK executes it before calling the model; a denied one's goes out not at all (the client
/// already shows it denied). One instance per response; not thread-safe.
/// </summary>
public sealed class UIChunkMapper(bool includeUsage = true, IReadOnlyDictionary<string, string>? priorCalls = null)
{
    private readonly List<UIChunk> _chunks = [];
    private readonly HashSet<string> _unanswered = new(StringComparer.Ordinal);
    private bool _stepOpen;
    private string? _textId;
    private string? _reasoningId;
    private int _blocks;
    private bool _started;
    private bool _stepHasResults;
    private ChatFinishReason? _finishReason;
    private long? _inputTokens;
    private long? _outputTokens;
    private long? _totalTokens;

    /// <summary>The chunks this update produces (possibly none); the first call also opens the message and its step.</summary>
    public IReadOnlyList<UIChunk> Map(ChatResponseUpdate update)
    {
        ArgumentNullException.ThrowIfNull(update);
        _chunks.Clear();
        Start();
        foreach (var content in update.Contents)
        {
            switch (content)
            {
                case TextReasoningContent reasoning when !string.IsNullOrEmpty(reasoning.Text):
                    NextStepIfResults();
                    OpenStep();
                    CloseText();
                    if (_reasoningId is null)
                    {
                        _reasoningId = "reasoning-" + ++_blocks;
                        _chunks.Add(new ReasoningStartChunk(_reasoningId));
                    }

                    _chunks.Add(new ReasoningDeltaChunk(_reasoningId, reasoning.Text));
                    break;
                case TextContent text when !string.IsNullOrEmpty(text.Text):
                    NextStepIfResults();
                    OpenStep();
                    CloseReasoning();
                    if (_textId is null)
                    {
                        _textId = "text-" + ++_blocks;
                        _chunks.Add(new TextStartChunk(_textId));
                    }

                    _chunks.Add(new TextDeltaChunk(_textId, text.Text));
                    break;
                case FunctionCallContent call when priorCalls?.ContainsKey(call.CallId) != true:
                    Call(call);
                    break;
                case ToolApprovalRequestContent { ToolCall: FunctionCallContent call } approval when priorCalls?.ContainsKey(call.CallId) != true:
                    Call(call);
                    _chunks.Add(new ToolApprovalRequestChunk(call.CallId, approval.RequestId));
                    break;
                case FunctionResultContent result when priorCalls?.TryGetValue(result.CallId, out var state) == true:
                    if (state != "output-denied")
                    {
                        _chunks.Add(Output(result));
                    }

                    break;
                case FunctionResultContent result:
                    CloseText();
                    CloseReasoning();
                    _chunks.Add(Output(result));
                    _unanswered.Remove(result.CallId);
                    _stepHasResults = true;
                    break;
                case UsageContent usage:
                    _inputTokens = Add(_inputTokens, usage.Details.InputTokenCount);
                    _outputTokens = Add(_outputTokens, usage.Details.OutputTokenCount);
                    _totalTokens = Add(_totalTokens, usage.Details.TotalTokenCount);
                    break;
            }
        }

        // After the contents: a step's reason (tool-calls) must not outlive it once the next step has begun.
        _finishReason = update.FinishReason ?? _finishReason;
        return [.. _chunks];
    }

    /// <summary>The chunks that end a response the model finished: open blocks closed, <c>finish-step</c>, <c>finish</c>.</summary>
    public IReadOnlyList<UIChunk> Complete()
    {
        _chunks.Clear();
        Start();
        OpenStep();
        CloseText();
        CloseReasoning();
        // Calls nobody answered (client tools, approvals) end the response asking for tool results, whatever the model said.
        var reason = _unanswered.Count > 0 ? "tool-calls" : FinishReason(_finishReason);
        Suspends = reason == "tool-calls";
        _chunks.Add(new FinishStepChunk());
        _chunks.Add(new FinishChunk(reason, Usage()));
        return [.. _chunks];
    }

    /// <summary>
    /// The response finished asking for tool calls it did not get results for (a client tool, one awaiting approval):
    /// the run suspends until the client answers, as the JS agent does for a <c>tool-calls</c> finish.
    /// </summary>
    public bool Suspends { get; private set; }

    /// <summary>
    /// The chunks that end a response the model failed: <c>error</c>, <c>finish-step</c>, <c>finish</c> with reason
    /// <c>error</c>. Open blocks stay open (the AI SDK does not end them); the writer closes their streams.
    /// </summary>
    public IReadOnlyList<UIChunk> Fail(string errorText)
    {
        _chunks.Clear();
        Start();
        OpenStep();
        _chunks.Add(new ErrorChunk(errorText));
        _chunks.Add(new FinishStepChunk());
        _chunks.Add(new FinishChunk("error", Usage()));
        return [.. _chunks];
    }

    /// <summary>The AI SDK's finish reasons; a model that gives none finished normally.</summary>
    public static string FinishReason(ChatFinishReason? reason)
    {
        if (reason is not { } value || value == ChatFinishReason.Stop)
        {
            return "stop";
        }

        if (value == ChatFinishReason.Length)
        {
            return "length";
        }

        if (value == ChatFinishReason.ContentFilter)
        {
            return "content-filter";
        }

        return value == ChatFinishReason.ToolCalls ? "tool-calls" : "other";
    }

    private void Start()
    {
        if (!_started)
        {
            _started = true;
            _chunks.Add(new StartChunk());
        }
    }

    /// <summary>The step opens with the model's first output, after the results of calls approved in an earlier run.</summary>
    private void OpenStep()
    {
        if (!_stepOpen)
        {
            _stepOpen = true;
            _chunks.Add(new StartStepChunk());
        }
    }

    private void Call(FunctionCallContent call)
    {
        NextStepIfResults();
        OpenStep();
        CloseText();
        CloseReasoning();
        _chunks.Add(new ToolInputAvailableChunk(call.CallId, call.Name, ToJson(call.Arguments)));
        _unanswered.Add(call.CallId);
    }

    private static UIChunk Output(FunctionResultContent result) => result.Exception is { } error
        ? new ToolOutputErrorChunk(result.CallId, error.Message)
        : new ToolOutputAvailableChunk(result.CallId, ToJson(result.Result));

    /// <summary>After tool results the model is called again: that is the AI SDK's next step.</summary>
    private void NextStepIfResults()
    {
        if (_stepHasResults)
        {
            _stepHasResults = false;
            _finishReason = null;
            _chunks.Add(new FinishStepChunk());
            _chunks.Add(new StartStepChunk());
        }
    }

    private void CloseText()
    {
        if (_textId is not null)
        {
            _chunks.Add(new TextEndChunk(_textId));
            _textId = null;
        }
    }

    private void CloseReasoning()
    {
        if (_reasoningId is not null)
        {
            _chunks.Add(new ReasoningEndChunk(_reasoningId));
            _reasoningId = null;
        }
    }

    private JsonObject? Usage()
    {
        if (!includeUsage || (_inputTokens is null && _outputTokens is null && _totalTokens is null))
        {
            return null;
        }

        var usage = new JsonObject();
        if (_inputTokens is { } input)
        {
            usage["inputTokens"] = input;
        }

        if (_outputTokens is { } output)
        {
            usage["outputTokens"] = output;
        }

        usage["totalTokens"] = _totalTokens ?? (_inputTokens ?? 0) + (_outputTokens ?? 0);
        return new JsonObject { ["usage"] = usage };
    }

    private static long? Add(long? total, long? value) => value is { } v ? (total ?? 0) + v : total;

    private static JsonNode? ToJson(object? value) => value switch
    {
        null => null,
        JsonNode node => node.DeepClone(),
        JsonElement element => JsonNode.Parse(element.GetRawText()),
        _ => JsonSerializer.SerializeToNode(value, AIJsonUtilities.DefaultOptions.GetTypeInfo(value.GetType())),
    };
}
