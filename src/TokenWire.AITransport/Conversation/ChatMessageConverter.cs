using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.AI;

namespace TokenWire.AITransport.Conversation;

/// <summary>
/// Turns the folded branch into <see cref="ChatMessage"/>s for an <see cref="IChatClient"/>, as the AI SDK's
/// <c>convertToModelMessages</c> does for the JS agent: a tool call goes in the assistant message and its result in a
/// tool message after it, and the next step's text starts a new assistant message.
/// </summary>
public static class ChatMessageConverter
{
    public static List<ChatMessage> ToChatMessages(IEnumerable<UIMessage> branch)
    {
        var result = new List<ChatMessage>();
        foreach (var message in branch)
        {
            if (message.Role == "assistant")
            {
                AddAssistant(message, result);
                continue;
            }

            var contents = new List<AIContent>();
            foreach (var part in message.Parts)
            {
                switch (part)
                {
                    case TextPart text:
                        contents.Add(new TextContent(text.Text));
                        break;
                    case FilePart file when file.Url.StartsWith("data:", StringComparison.Ordinal):
                        contents.Add(new DataContent(file.Url, file.MediaType.Length > 0 ? file.MediaType : null));
                        break;
                    case FilePart file when Uri.TryCreate(file.Url, UriKind.Absolute, out var uri):
                        contents.Add(new UriContent(uri, file.MediaType.Length > 0 ? file.MediaType : "application/octet-stream"));
                        break;
                }
            }

            result.Add(new ChatMessage(message.Role == "system" ? ChatRole.System : ChatRole.User, contents));
        }

        return result;
    }

    private static void AddAssistant(UIMessage message, List<ChatMessage> result)
    {
        var contents = new List<AIContent>();
        var results = new List<AIContent>();
        var approvals = new List<AIContent>();
        void Flush()
        {
            if (contents.Count > 0)
            {
                result.Add(new ChatMessage(ChatRole.Assistant, [.. contents]));
                contents.Clear();
            }

            if (results.Count > 0)
            {
                result.Add(new ChatMessage(ChatRole.Tool, [.. results]));
                results.Clear();
            }

            if (approvals.Count > 0)
            {
                result.Add(new ChatMessage(ChatRole.User, [.. approvals]));
                approvals.Clear();
            }
        }

        foreach (var part in message.Parts)
        {
            switch (part)
            {
                case StepStartPart when results.Count > 0:
                    Flush();
                    break;
                case TextPart text when text.Text.Length > 0:
                    contents.Add(new TextContent(text.Text));
                    break;
                case ReasoningPart reasoning when reasoning.Text.Length > 0:
                    contents.Add(new TextReasoningContent(reasoning.Text));
                    break;
                case ToolPart tool:
                    var call = new FunctionCallContent(tool.ToolCallId, tool.ToolName, Arguments(tool.Input));
                    switch (tool.State)
                    {
                        case "output-available":
                            contents.Add(call);
                            results.Add(new FunctionResultContent(tool.ToolCallId, ToElement(tool.Output)));
                            break;
                        case "output-error":
                            contents.Add(call);
                            results.Add(new FunctionResultContent(tool.ToolCallId, tool.ErrorText));
                            break;
                        case "approval-requested" or "approval-responded" or "output-denied":
                            // As the function-invoking client left it: it runs an approved call, and answers a denied
                            // one to the model as rejected, when it reads the user's response.
                            var approvalId = string.IsNullOrEmpty(tool.ApprovalId) ? "approval-" + tool.ToolCallId : tool.ApprovalId;
                            contents.Add(new ToolApprovalRequestContent(approvalId, call));
                            if (tool.State != "approval-requested")
                            {
                                approvals.Add(new ToolApprovalResponseContent(approvalId, tool.State == "approval-responded", call) { Reason = tool.ApprovalReason });
                            }

                            break;
                        default:
                            // A client tool still waiting for its result.
                            contents.Add(call);
                            break;
                    }

                    break;
            }
        }

        Flush();
    }

    private static Dictionary<string, object?>? Arguments(JsonNode? input)
    {
        if (input is not JsonObject map)
        {
            return null;
        }

        var arguments = new Dictionary<string, object?>(StringComparer.Ordinal);
        foreach (var (key, value) in map)
        {
            arguments[key] = ToElement(value);
        }

        return arguments;
    }

    private static object? ToElement(JsonNode? node) =>
        node is null ? null : JsonSerializer.SerializeToElement(node, AITransportJsonContext.Default.JsonNode);
}
