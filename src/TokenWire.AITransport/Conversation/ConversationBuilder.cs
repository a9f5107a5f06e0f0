using System.Text.Json.Nodes;
using TokenWire.AITransport.Wire;

namespace TokenWire.AITransport.Conversation;

/// <summary>
/// Builds the conversation a run answers from the folded channel: every input and output becomes a
/// <see cref="UIMessage"/> keyed by <c>codec-message-id</c> (parts in channel order, streams at their create's place
/// with their latest text), then the branch is read by following <c>parent</c> from the triggering input up to the
/// root — the same path through the run tree the JS agent's view renders.
/// </summary>
public static class ConversationBuilder
{
    /// <summary>The folded messages by codec message id; unknown kinds are skipped, as the SDK's decoder does.</summary>
    public static Dictionary<string, UIMessage> Fold(IEnumerable<WireMessage> ordered)
    {
        var messages = new Dictionary<string, UIMessage>(StringComparer.Ordinal);
        var tools = new Dictionary<string, ToolPart>(StringComparer.Ordinal);
        foreach (var wire in ordered)
        {
            if (wire.Header(AitHeaders.CodecMessageId) is not { Length: > 0 } codecId)
            {
                continue;
            }

            if (wire.Name == AitEvents.Input)
            {
                FoldInput(wire, codecId, messages, tools);
            }
            else if (wire.Name == AitEvents.Output)
            {
                FoldOutput(wire, Get(messages, codecId, wire, "assistant"), tools);
            }
        }

        return messages;
    }

    /// <summary>The branch ending at <paramref name="leafCodecMessageId"/>, root first.</summary>
    public static IReadOnlyList<UIMessage> Branch(IReadOnlyDictionary<string, UIMessage> messages, string leafCodecMessageId)
    {
        var branch = new List<UIMessage>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (var id = leafCodecMessageId; id is not null && seen.Add(id) && messages.TryGetValue(id, out var message); id = message.Parent)
        {
            branch.Add(message);
        }

        branch.Reverse();
        return branch;
    }

    private static void FoldInput(WireMessage wire, string codecId, Dictionary<string, UIMessage> messages, Dictionary<string, ToolPart> tools)
    {
        switch (wire.CodecField("kind"))
        {
            case "user-message":
                var message = Get(messages, codecId, wire, wire.Header(AitHeaders.Role) ?? "user");
                message.Id = wire.CodecField("messageId") ?? message.Id;
                switch (wire.CodecField("partType"))
                {
                    case "text":
                        message.Parts.Add(new TextPart(wire.Text ?? wire.Json?.ToJsonString() ?? string.Empty));
                        break;
                    case "file":
                        message.Parts.Add(new FilePart(wire.CodecField("mediaType") ?? string.Empty, wire.Text ?? string.Empty));
                        break;
                }

                break;
            case "tool-result" or "tool-result-error" when wire.CodecField("toolCallId") is { } callId:
                var result = wire.DataAsJson() as JsonObject;
                if (result?["forkSeed"] is JsonObject seed && !messages.ContainsKey(codecId))
                {
                    SeedFork(seed, wire.Header(AitHeaders.Parent), messages, tools);
                }

                if (tools.TryGetValue(callId, out var tool))
                {
                    if (wire.CodecField("kind") == "tool-result")
                    {
                        tool.Output = result?["output"]?.DeepClone();
                        tool.State = "output-available";
                    }
                    else
                    {
                        tool.ErrorText = result?["message"]?.ToString();
                        tool.State = "output-error";
                    }
                }

                break;
            case "tool-approval-response" when wire.CodecField("toolCallId") is { } callId && tools.TryGetValue(callId, out var asked):
                asked.State = wire.CodecField("approved") == "true" ? "approval-responded" : "output-denied";
                asked.ApprovalReason = wire.CodecField("reason");
                break;
        }
    }

    /// <summary>
    /// A client tool's result forks a new run from the suspended one (the SDK's client does this so that two answers to
    /// one call become two branches): it carries that run's messages under fresh ids, which are rebuilt here in order,
    /// the first following the suspended run's input, so the result lands on the copy and the fork reads as one reply.
    /// </summary>
    private static void SeedFork(JsonObject seed, string? parent, Dictionary<string, UIMessage> messages, Dictionary<string, ToolPart> tools)
    {
        if (seed["messages"] is not JsonArray entries)
        {
            return;
        }

        foreach (var entry in entries.OfType<JsonObject>())
        {
            if (entry["codecMessageId"]?.GetValue<string>() is not { Length: > 0 } id || entry["message"] is not JsonObject source || messages.ContainsKey(id))
            {
                continue;
            }

            var message = new UIMessage(id, source["role"]?.ToString() ?? "assistant") { Parent = parent, Id = source["id"]?.ToString() ?? id };
            foreach (var part in (source["parts"] as JsonArray ?? []).OfType<JsonObject>())
            {
                if (ReadPart(part) is { } read)
                {
                    message.Parts.Add(read);
                    if (read is ToolPart tool)
                    {
                        tools[tool.ToolCallId] = tool;
                    }
                }
            }

            messages[id] = message;
            parent = id;
        }
    }

    /// <summary>A UI message part as the AI SDK writes it (<c>text</c>, <c>reasoning</c>, <c>step-start</c>, <c>tool-{name}</c>).</summary>
    private static UIPart? ReadPart(JsonObject part)
    {
        var type = part["type"]?.ToString() ?? string.Empty;
        switch (type)
        {
            case "step-start":
                return new StepStartPart();
            case "text":
                return new TextPart(part["text"]?.ToString() ?? string.Empty);
            case "reasoning":
                return new ReasoningPart(part["text"]?.ToString() ?? string.Empty);
        }

        if (part["toolCallId"]?.ToString() is not { } callId || !(type.StartsWith("tool-", StringComparison.Ordinal) || type == "dynamic-tool"))
        {
            return null;
        }

        var name = type == "dynamic-tool" ? part["toolName"]?.ToString() ?? string.Empty : type["tool-".Length..];
        return new ToolPart(callId, name)
        {
            Input = part["input"]?.DeepClone(),
            Output = part["output"]?.DeepClone(),
            ErrorText = part["errorText"]?.ToString(),
            ApprovalId = part["approval"]?["id"]?.ToString(),
            State = part["state"]?.ToString() ?? "input-available",
        };
    }

    private static void FoldOutput(WireMessage wire, UIMessage message, Dictionary<string, ToolPart> tools)
    {
        switch (wire.CodecField("kind"))
        {
            case "start":
                message.Id = wire.CodecField("messageId") ?? message.Id;
                message.Metadata = Metadata(wire) ?? message.Metadata;
                break;
            case "start-step":
                message.Parts.Add(new StepStartPart());
                break;
            case "text":
                message.Parts.Add(new TextPart(wire.Text ?? string.Empty));
                break;
            case "reasoning":
                message.Parts.Add(new ReasoningPart(wire.Text ?? string.Empty));
                break;
            case "tool-input":
                var callId = wire.CodecField("toolCallId") ?? string.Empty;
                var tool = new ToolPart(callId, wire.CodecField("toolName") ?? string.Empty)
                {
                    // Streamed tool input is JSON text accumulated by appends; a discrete one is the input itself.
                    Input = wire.Header(AitHeaders.Stream) == "true" && wire.Text is { } text ? ParseOrString(text) : wire.DataAsJson(),
                };
                tools[callId] = tool;
                message.Parts.Add(tool);
                break;
            case "tool-output-available" when wire.CodecField("toolCallId") is { } id && tools.TryGetValue(id, out var done):
                done.Output = wire.DataAsJson() is JsonObject data ? data["output"]?.DeepClone() : null;
                done.State = "output-available";
                break;
            case "tool-output-error" when wire.CodecField("toolCallId") is { } id && tools.TryGetValue(id, out var failed):
                failed.ErrorText = wire.DataAsJson() is JsonObject errorData ? errorData["errorText"]?.ToString() : null;
                failed.State = "output-error";
                break;
            case "tool-approval-request" when wire.CodecField("toolCallId") is { } id && tools.TryGetValue(id, out var asked):
                asked.ApprovalId = wire.CodecField("approvalId");
                asked.State = "approval-requested";
                break;
            case "tool-output-denied" when wire.CodecField("toolCallId") is { } id && tools.TryGetValue(id, out var denied):
                denied.State = "output-denied";
                break;
            case "finish" or "message-metadata":
                message.Metadata = Metadata(wire) ?? message.Metadata;
                break;
        }
    }

    private static UIMessage Get(Dictionary<string, UIMessage> messages, string codecId, WireMessage wire, string role)
    {
        if (!messages.TryGetValue(codecId, out var message))
        {
            message = new UIMessage(codecId, role) { Parent = wire.Header(AitHeaders.Parent) };
            messages[codecId] = message;
        }

        return message;
    }

    private static JsonNode? Metadata(WireMessage wire) =>
        wire.CodecField("messageMetadata") is { } json ? ParseOrString(json) : null;

    private static JsonNode? ParseOrString(string text)
    {
        try
        {
            return JsonNode.Parse(text);
        }
        catch (System.Text.Json.JsonException)
        {
            return JsonValue.Create(text);
        }
    }
}
