using System.Text.Json.Nodes;

namespace TokenWire.AITransport.Codec;

/// <summary>
/// The AI SDK's UI-message stream chunks (what <c>streamText(…).toUIMessageStream()</c> yields and the Vercel codec
/// puts on the channel), for the kinds a .NET model produces.
/// </summary>
public abstract record UIChunk;

public sealed record StartChunk(JsonNode? MessageMetadata = null) : UIChunk;

public sealed record StartStepChunk : UIChunk;

public sealed record FinishStepChunk : UIChunk;

/// <summary><paramref name="FinishReason"/>: <c>stop</c>, <c>length</c>, <c>content-filter</c>, <c>tool-calls</c>, <c>error</c> or <c>other</c>.</summary>
public sealed record FinishChunk(string FinishReason, JsonNode? MessageMetadata = null) : UIChunk;

public sealed record TextStartChunk(string Id) : UIChunk;

public sealed record TextDeltaChunk(string Id, string Delta) : UIChunk;

public sealed record TextEndChunk(string Id) : UIChunk;

public sealed record ReasoningStartChunk(string Id) : UIChunk;

public sealed record ReasoningDeltaChunk(string Id, string Delta) : UIChunk;

public sealed record ReasoningEndChunk(string Id) : UIChunk;

public sealed record ToolInputAvailableChunk(string ToolCallId, string ToolName, JsonNode? Input) : UIChunk;

public sealed record ToolOutputAvailableChunk(string ToolCallId, JsonNode? Output) : UIChunk;

public sealed record ToolOutputErrorChunk(string ToolCallId, string ErrorText) : UIChunk;

/// <summary>The model called a tool that needs the user's approval; the run suspends until the client answers.</summary>
public sealed record ToolApprovalRequestChunk(string ToolCallId, string ApprovalId) : UIChunk;

public sealed record ErrorChunk(string ErrorText) : UIChunk;
