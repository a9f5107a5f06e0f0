namespace TokenWire.AITransport.Wire;

/// <summary>Message names of the AI Transport 0.8 wire format (the JS SDK's <c>constants.ts</c>).</summary>
public static class AitEvents
{
    public const string Input = "ai-input";
    public const string Output = "ai-output";
    public const string Cancel = "ai-cancel";
    public const string RunStart = "ai-run-start";
    public const string RunSuspend = "ai-run-suspend";
    public const string RunResume = "ai-run-resume";
    public const string RunEnd = "ai-run-end";
    public const string StepStart = "ai-step-start";
    public const string StepEnd = "ai-step-end";
}

/// <summary>Keys of <c>extras.ai.transport</c>: every value on the wire is a string.</summary>
public static class AitHeaders
{
    public const string Role = "role";
    public const string CodecMessageId = "codec-message-id";
    public const string RunId = "run-id";
    public const string RunClientId = "run-client-id";
    public const string Parent = "parent";
    public const string ForkOf = "fork-of";
    public const string MsgRegenerate = "msg-regenerate";
    public const string Supersedes = "supersedes";
    public const string InvocationId = "invocation-id";
    public const string InputClientId = "input-client-id";
    public const string InputCodecMessageId = "input-codec-message-id";
    public const string EventId = "event-id";
    public const string StepId = "step-id";
    public const string StepClientId = "step-client-id";
    public const string StepStartSerial = "step-start-serial";
    public const string StepReason = "step-reason";
    public const string RunReason = "run-reason";
    public const string Stream = "stream";
    public const string StreamId = "stream-id";
    public const string Status = "status";
    public const string Discrete = "discrete";
    public const string ErrorCode = "error-code";
    public const string ErrorMessage = "error-message";
}

/// <summary>Values of the <c>status</c> header of a streamed message and of run/step end reasons.</summary>
public static class AitStatus
{
    public const string Streaming = "streaming";
    public const string Complete = "complete";
    public const string Cancelled = "cancelled";
    public const string Error = "error";
}
