namespace TokenWire.AITransport;

/// <summary>
/// A request the agent refuses, with an Ably-style error code (4xxxx; the HTTP status is its first three digits), so
/// the endpoint can answer the way Ably's REST API does.
/// </summary>
public sealed class AITransportException(int code, string message, Exception? innerException = null) : Exception(message, innerException)
{
    /// <summary>The request body is not an invocation (Ably's "invalid request body").</summary>
    public const int InvalidRequestBody = 40000;

    /// <summary>A field has a value the agent cannot use (Ably's "invalid parameter value").</summary>
    public const int InvalidParameterValue = 40003;

    /// <summary>The invocation's input event was not found on the channel (Ably's "not found").</summary>
    public const int InputNotFound = 40400;

    public int Code { get; } = code;

    public int StatusCode => Code / 100;
}
