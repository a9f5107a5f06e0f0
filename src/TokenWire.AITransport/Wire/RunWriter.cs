using System.Text;
using System.Text.Json.Nodes;
using TokenWire.AITransport.Codec;
using TokenWire.Client;
using TokenWire.Protocol;

namespace TokenWire.AITransport.Wire;

/// <summary>
/// Puts one run on the channel as the JS agent does (transport <c>run-step-writer</c> + Vercel codec encoder):
/// <c>ai-run-start</c>, <c>ai-step-start</c>, one <c>ai-output</c> per chunk — a text or reasoning block is one
/// streamed message created empty with <c>status: streaming</c> and then appended to per delta, pipelined, every
/// append repeating all headers because extras replace wholesale — then <c>ai-step-end</c> and <c>ai-run-end</c>.
/// A block ends with an empty append carrying <c>status: complete</c>, or <c>cancelled</c> when the run is cut short.
/// Calls must not overlap (one caller drives a run). If an append fails, the block's message is rewritten whole
/// with <c>updateMessage</c> when it ends, the SDK's own recovery path.
/// </summary>
public sealed class RunWriter(IAITransportChannel channel, RunIdentity run)
{
    private readonly Dictionary<string, OpenStream> _streams = new(StringComparer.Ordinal);
    private readonly List<Task> _pending = [];
    private string? _stepStartSerial;

    /// <summary>The serials of what this run published, in order (for tests and logs).</summary>
    public int PublishedCount { get; private set; }

    /// <summary>
    /// <c>ai-run-start</c>, placing the run in the conversation tree (<c>parent</c>, <c>fork-of</c>,
    /// <c>msg-regenerate</c>); or, for a continuation, <c>ai-run-resume</c>, which re-enters the run and carries none
    /// of them (the run's start already placed it).
    /// </summary>
    public async Task StartRunAsync(CancellationToken cancellationToken)
    {
        var headers = new JsonObject
        {
            [AitHeaders.RunId] = run.RunId,
            [AitHeaders.RunClientId] = run.RunClientId,
        };
        if (!run.Continuation)
        {
            AddPlacement(headers, run, run.RunParent);
        }

        headers[AitHeaders.InvocationId] = run.InvocationId;
        headers[AitHeaders.InputClientId] = run.InputClientId;
        headers[AitHeaders.InputCodecMessageId] = run.InputCodecMessageId;
        await PublishAsync(run.Continuation ? AitEvents.RunResume : AitEvents.RunStart, null, headers, null, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Opens the run's step; its serial is stamped on every output (<c>step-start-serial</c>).</summary>
    public async Task StartStepAsync(CancellationToken cancellationToken)
    {
        _stepStartSerial = await PublishAsync(AitEvents.StepStart, null, StepHeaders(), null, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Publishes one chunk. Only a block's first chunk waits (for its message's serial); deltas are pipelined.</summary>
    public async Task WriteAsync(UIChunk chunk, CancellationToken cancellationToken)
    {
        switch (chunk)
        {
            case StartChunk start:
                var startCodec = Codec("start");
                startCodec["messageId"] = run.AssistantCodecMessageId;
                AddJson(startCodec, "messageMetadata", start.MessageMetadata);
                Discrete(string.Empty, startCodec, cancellationToken);
                break;
            case StartStepChunk:
                Discrete(string.Empty, Codec("start-step"), cancellationToken);
                break;
            case FinishStepChunk:
                Discrete(string.Empty, Codec("finish-step"), cancellationToken);
                break;
            case FinishChunk finish:
                var finishCodec = Codec("finish");
                finishCodec["finishReason"] = finish.FinishReason;
                AddJson(finishCodec, "messageMetadata", finish.MessageMetadata);
                Discrete(string.Empty, finishCodec, cancellationToken);
                break;
            case TextStartChunk text:
                await OpenAsync(text.Id, "text", cancellationToken).ConfigureAwait(false);
                break;
            case ReasoningStartChunk reasoning:
                await OpenAsync(reasoning.Id, "reasoning", cancellationToken).ConfigureAwait(false);
                break;
            case TextDeltaChunk delta:
                Append(delta.Id, delta.Delta, AitStatus.Streaming, cancellationToken);
                break;
            case ReasoningDeltaChunk delta:
                Append(delta.Id, delta.Delta, AitStatus.Streaming, cancellationToken);
                break;
            case TextEndChunk end:
                Close(end.Id, AitStatus.Complete, cancellationToken);
                break;
            case ReasoningEndChunk end:
                Close(end.Id, AitStatus.Complete, cancellationToken);
                break;
            case ToolInputAvailableChunk tool:
                var inputCodec = Codec("tool-input");
                inputCodec["toolCallId"] = tool.ToolCallId;
                inputCodec["toolName"] = tool.ToolName;
                Discrete(tool.Input ?? new JsonObject(), inputCodec, cancellationToken);
                break;
            case ToolOutputAvailableChunk output:
                var outputCodec = Codec("tool-output-available");
                outputCodec["toolCallId"] = output.ToolCallId;
                Discrete(new JsonObject { ["output"] = output.Output?.DeepClone() }, outputCodec, cancellationToken);
                break;
            case ToolOutputErrorChunk error:
                var errorCodec = Codec("tool-output-error");
                errorCodec["toolCallId"] = error.ToolCallId;
                Discrete(new JsonObject { ["errorText"] = error.ErrorText }, errorCodec, cancellationToken);
                break;
            case ToolApprovalRequestChunk approval:
                var approvalCodec = Codec("tool-approval-request");
                approvalCodec["toolCallId"] = approval.ToolCallId;
                approvalCodec["approvalId"] = approval.ApprovalId;
                Discrete(string.Empty, approvalCodec, cancellationToken);
                break;
            case ErrorChunk error:
                Discrete(error.ErrorText, Codec("error"), cancellationToken);
                break;
        }
    }

    /// <summary>Ends every block still open with an empty append carrying <paramref name="status"/>.</summary>
    public void CloseOpenStreams(string status, CancellationToken cancellationToken)
    {
        foreach (var id in _streams.Where(s => !s.Value.Closed).Select(s => s.Key).ToList())
        {
            Close(id, status, cancellationToken);
        }
    }

    /// <summary>Waits for every pipelined publish; rewrites any block whose appends did not all make it.</summary>
    public async Task FlushAsync(CancellationToken cancellationToken)
    {
        try
        {
            await Task.WhenAll(_pending).ConfigureAwait(false);
        }
        catch (Exception) when (_streams.Values.Any(s => s.AppendFailed))
        {
            foreach (var stream in _streams.Values.Where(s => s.AppendFailed))
            {
                var message = Messages.Create(null, stream.Text.ToString(), Extras(stream.Headers(stream.Closed ? stream.FinalStatus : AitStatus.Streaming), stream.Codec));
                message.Serial = stream.Serial;
                await channel.UpdateAsync(message, cancellationToken).ConfigureAwait(false);
            }
        }

        _pending.Clear();
    }

    public async Task EndStepAsync(string reason, CancellationToken cancellationToken)
    {
        var headers = StepHeaders();
        headers[AitHeaders.StepReason] = reason;
        await PublishAsync(AitEvents.StepEnd, null, headers, null, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// <c>ai-run-suspend</c>: this invocation ends, the run does not. A later input naming the run (a tool approval)
    /// resumes it; a client tool's result forks a new run from it.
    /// </summary>
    public async Task SuspendRunAsync(CancellationToken cancellationToken)
    {
        var headers = new JsonObject
        {
            [AitHeaders.RunId] = run.RunId,
            [AitHeaders.RunClientId] = run.RunClientId,
            [AitHeaders.InvocationId] = run.InvocationId,
            [AitHeaders.InputClientId] = run.InputClientId,
            [AitHeaders.InputCodecMessageId] = run.InputCodecMessageId,
        };
        await PublishAsync(AitEvents.RunSuspend, null, headers, null, cancellationToken).ConfigureAwait(false);
    }

    /// <summary><c>ai-run-end</c> with <paramref name="reason"/>; an error carries its code and message as the SDK reads them.</summary>
    public async Task EndRunAsync(string reason, int? errorCode, string? errorMessage, CancellationToken cancellationToken)
    {
        var headers = new JsonObject
        {
            [AitHeaders.RunId] = run.RunId,
            [AitHeaders.RunClientId] = run.RunClientId,
            [AitHeaders.RunReason] = reason,
            [AitHeaders.InvocationId] = run.InvocationId,
            [AitHeaders.InputClientId] = run.InputClientId,
            [AitHeaders.InputCodecMessageId] = run.InputCodecMessageId,
        };
        if (errorCode is { } code)
        {
            headers[AitHeaders.ErrorCode] = code.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        if (errorMessage is not null)
        {
            headers[AitHeaders.ErrorMessage] = errorMessage;
        }

        await PublishAsync(AitEvents.RunEnd, null, headers, null, cancellationToken).ConfigureAwait(false);
    }

    private async Task OpenAsync(string id, string kind, CancellationToken cancellationToken)
    {
        var codec = Codec(kind);
        codec["id"] = id;
        var stream = new OpenStream(this, id, codec);
        _streams[id] = stream;
        // Appends need the serial: the create is the one publish a block waits for.
        stream.Serial = await PublishAsync(AitEvents.Output, string.Empty, stream.Headers(AitStatus.Streaming), codec, cancellationToken).ConfigureAwait(false);
    }

    private void Append(string id, string fragment, string status, CancellationToken cancellationToken)
    {
        if (!_streams.TryGetValue(id, out var stream) || stream.Closed)
        {
            return;
        }

        stream.Text.Append(fragment);
        var message = Messages.Create(null, fragment, Extras(stream.Headers(status), stream.Codec));
        message.Serial = stream.Serial;
        PublishedCount++;
        _pending.Add(Observe(channel.AppendAsync(message, cancellationToken), stream));
    }

    private void Close(string id, string status, CancellationToken cancellationToken)
    {
        if (!_streams.TryGetValue(id, out var stream) || stream.Closed)
        {
            return;
        }

        Append(id, string.Empty, status, cancellationToken);
        stream.Closed = true;
        stream.FinalStatus = status;
    }

    private static async Task Observe(Task append, OpenStream stream)
    {
        try
        {
            await append.ConfigureAwait(false);
        }
        catch
        {
            stream.AppendFailed = true;
            throw;
        }
    }

    private void Discrete(JsonNode data, JsonObject codec, CancellationToken cancellationToken)
    {
        _pending.Add(PublishAsync(AitEvents.Output, data, OutputHeaders(), codec, cancellationToken));
    }

    private void Discrete(string data, JsonObject codec, CancellationToken cancellationToken)
    {
        _pending.Add(PublishAsync(AitEvents.Output, data, OutputHeaders(), codec, cancellationToken));
    }

    private Task<string?> PublishAsync(string name, object? data, JsonObject transport, JsonObject? codec, CancellationToken cancellationToken)
    {
        PublishedCount++;
        return channel.PublishAsync(Messages.Create(name, data, Extras(transport, codec)), cancellationToken);
    }

    private static JsonObject Extras(JsonObject transport, JsonObject? codec)
    {
        var ai = new JsonObject { ["transport"] = transport };
        if (codec is not null)
        {
            ai["codec"] = codec.DeepClone();
        }

        return new JsonObject { ["ai"] = ai };
    }

    private static JsonObject Codec(string kind) => new() { ["kind"] = kind };

    private static void AddJson(JsonObject codec, string key, JsonNode? value)
    {
        if (value is not null)
        {
            codec[key] = value.ToJsonString();
        }
    }

    /// <summary>The headers of every output: the assistant message, its run, its input and its step.</summary>
    private JsonObject OutputHeaders(bool stream = false, string? status = null, string? streamId = null)
    {
        var headers = new JsonObject
        {
            [AitHeaders.Role] = "assistant",
            [AitHeaders.CodecMessageId] = run.AssistantCodecMessageId,
            [AitHeaders.RunId] = run.RunId,
            [AitHeaders.RunClientId] = run.RunClientId,
        };
        // Echoed on every output so a client that sees an output before the run's start still places it.
        AddPlacement(headers, run, run.Parent);
        headers[AitHeaders.InvocationId] = run.InvocationId;
        headers[AitHeaders.InputClientId] = run.InputClientId;
        headers[AitHeaders.InputCodecMessageId] = run.InputCodecMessageId;
        headers[AitHeaders.StepId] = run.StepId;
        headers[AitHeaders.StepClientId] = run.InputClientId;
        headers[AitHeaders.Stream] = stream ? "true" : "false";
        if (stream)
        {
            headers[AitHeaders.Status] = status;
            headers[AitHeaders.StreamId] = streamId;
        }

        if (_stepStartSerial is not null)
        {
            headers[AitHeaders.StepStartSerial] = _stepStartSerial;
        }

        return headers;
    }

    private JsonObject StepHeaders()
    {
        var headers = new JsonObject
        {
            [AitHeaders.RunId] = run.RunId,
            [AitHeaders.StepId] = run.StepId,
        };
        if (_stepStartSerial is not null)
        {
            headers[AitHeaders.StepStartSerial] = _stepStartSerial;
        }

        headers[AitHeaders.InvocationId] = run.InvocationId;
        headers[AitHeaders.RunClientId] = run.RunClientId;
        headers[AitHeaders.InputClientId] = run.InputClientId;
        headers[AitHeaders.StepClientId] = run.InputClientId;
        return headers;
    }

    /// <summary>The SDK leaves a header off rather than sending it empty.</summary>
    /// <summary>Where the run or output sits in the conversation tree: its parent, and the fork or regeneration it is.</summary>
    private static void AddPlacement(JsonObject headers, RunIdentity run, string? parent)
    {
        AddIfSet(headers, AitHeaders.Parent, parent);
        AddIfSet(headers, AitHeaders.ForkOf, run.ForkOf);
        AddIfSet(headers, AitHeaders.MsgRegenerate, run.Regenerates);
    }

    private static void AddIfSet(JsonObject headers, string name, string? value)
    {
        if (!string.IsNullOrEmpty(value))
        {
            headers[name] = value;
        }
    }

    private sealed class OpenStream(RunWriter writer, string id, JsonObject codec)
    {
        public JsonObject Codec { get; } = codec;

        public string? Serial { get; set; }

        public StringBuilder Text { get; } = new();

        public bool Closed { get; set; }

        public string FinalStatus { get; set; } = AitStatus.Complete;

        public bool AppendFailed { get; set; }

        public JsonObject Headers(string status) => writer.OutputHeaders(stream: true, status: status, streamId: id);
    }
}
