namespace TokenWire.AITransport.Wire;

/// <summary>
/// Who and what one run is on the wire: the ids the JS agent stamps on every lifecycle event and output. The run is
/// the triggering input's (<c>run-client-id</c>/<c>input-client-id</c> are its publisher), the invocation and the
/// assistant message are minted per request, and the run has one transport step, <c>{invocationId}-step-0</c>.
/// </summary>
public sealed record RunIdentity(string RunId, string InvocationId, string InputCodecMessageId, string InputClientId, string AssistantCodecMessageId)
{
    public string StepId => InvocationId + "-step-0";

    public static RunIdentity Create(string? runId, string inputCodecMessageId, string? inputClientId) =>
        new(runId ?? Guid.NewGuid().ToString(), Guid.NewGuid().ToString(), inputCodecMessageId, inputClientId ?? string.Empty, Guid.NewGuid().ToString());
}
