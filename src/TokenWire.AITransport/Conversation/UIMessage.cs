using System.Text.Json.Nodes;

namespace TokenWire.AITransport.Conversation;

/// <summary>
/// A message of the conversation as the Vercel UI-message codec folds it from the channel (the shape of the AI SDK's
/// <c>UIMessage</c>): one per codec message id, with its parts in channel order.
/// </summary>
public sealed class UIMessage(string codecMessageId, string role)
{
    /// <summary>The transport's id for the message (<c>codec-message-id</c>); parents name messages by it.</summary>
    public string CodecMessageId { get; } = codecMessageId;

    /// <summary>The UI message's own id (a user message's <c>messageId</c>, an assistant's start <c>messageId</c>).</summary>
    public string Id { get; set; } = codecMessageId;

    /// <summary><c>user</c>, <c>assistant</c> or <c>system</c>.</summary>
    public string Role { get; set; } = role;

    /// <summary>The codec message id this one follows in the conversation tree; null for the first.</summary>
    public string? Parent { get; set; }

    public List<UIPart> Parts { get; } = [];

    /// <summary>From a <c>start</c>/<c>finish</c>/<c>message-metadata</c> chunk's <c>messageMetadata</c>.</summary>
    public JsonNode? Metadata { get; set; }
}

/// <summary>One part of a <see cref="UIMessage"/>.</summary>
public abstract record UIPart;

public sealed record StepStartPart : UIPart;

public sealed record TextPart(string Text) : UIPart;

public sealed record ReasoningPart(string Text) : UIPart;

public sealed record FilePart(string MediaType, string Url) : UIPart;

/// <summary>A tool call and, once known, its result. <see cref="State"/> is the AI SDK's tool-part state.</summary>
public sealed record ToolPart(string ToolCallId, string ToolName) : UIPart
{
    public JsonNode? Input { get; set; }

    public JsonNode? Output { get; set; }

    public string? ErrorText { get; set; }

    /// <summary>The id of the approval the call asked for (<c>tool-approval-request</c>), if it needed one.</summary>
    public string? ApprovalId { get; set; }

    /// <summary>The user's reason for approving or denying the call, if they gave one.</summary>
    public string? ApprovalReason { get; set; }

    /// <summary>
    /// <c>input-available</c> (a call awaiting a client tool's result), <c>approval-requested</c>,
    /// <c>approval-responded</c> (approved, not yet run), <c>output-available</c>, <c>output-error</c> or
    /// <c>output-denied</c>.
    /// </summary>
    public string State { get; set; } = "input-available";
}
