using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.AI;

namespace TokenWire.AITransport.Codec;

/// <summary>
/// Maps one response's <see cref="ChatResponseUpdate"/>s to UI-message chunks in the order the AI SDK emits them:
/// <c>start</c>, <c>start-step</c>, text and reasoning as start/delta/end blocks, a tool call as
/// <c>tool-input-available</c> and its result (from a function-invoking client) as <c>tool-output-available</c> or
/// <c>tool-output-error</c>, a new step after tool results, then <c>finish-step</c> and <c>finish</c> with the finish
/// reason and, when asked, the usage as message metadata. One instance per response; not thread-safe.
/// </summary>
public sealed class UIChunkMapper(bool includeUsage = true)
{
    private readonly List<UIChunk> _chunks = [];
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
                    CloseReasoning();
                    if (_textId is null)
                    {
                        _textId = "text-" + ++_blocks;
                        _chunks.Add(new TextStartChunk(_textId));
                    }

                    _chunks.Add(new TextDeltaChunk(_textId, text.Text));
                    break;
                case FunctionCallContent call:
                    NextStepIfResults();
                    CloseText();
                    CloseReasoning();
                    _chunks.Add(new ToolInputAvailableChunk(call.CallId, call.Name, ToJson(call.Arguments)));
                    break;
                case FunctionResultContent result:
                    CloseText();
                    CloseReasoning();
                    _chunks.Add(result.Exception is { } error
                        ? new ToolOutputErrorChunk(result.CallId, error.Message)
                        : new ToolOutputAvailableChunk(result.CallId, ToJson(result.Result)));
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
        CloseText();
        CloseReasoning();
        _chunks.Add(new FinishStepChunk());
        _chunks.Add(new FinishChunk(FinishReason(_finishReason), Usage()));
        return [.. _chunks];
    }

    /// <summary>
    /// The chunks that end a response the model failed: <c>error</c>, <c>finish-step</c>, <c>finish</c> with reason
    /// <c>error</c>. Open blocks stay open (the AI SDK does not end them); the writer closes their streams.
    /// </summary>
    public IReadOnlyList<UIChunk> Fail(string errorText)
    {
        _chunks.Clear();
        Start();
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
            _chunks.Add(new StartStepChunk());
        }
    }

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
