using Microsoft.Extensions.Logging;

namespace TokenWire.AITransport;

internal static partial class Log
{
    [LoggerMessage(Level = LogLevel.Information, Message = "Run {RunId} on {Session} started (invocation {InvocationId}, {MessageCount} messages of context)")]
    public static partial void RunStarted(ILogger logger, string runId, string session, string invocationId, int messageCount);

    [LoggerMessage(Level = LogLevel.Information, Message = "Run {RunId} on {Session} ended: {Reason}")]
    public static partial void RunEnded(ILogger logger, string runId, string session, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Run {RunId}: the model failed")]
    public static partial void ModelFailed(ILogger logger, Exception exception, string runId);

    [LoggerMessage(Level = LogLevel.Error, Message = "Run {RunId} on {Session}: publishing failed")]
    public static partial void PublishFailed(ILogger logger, Exception exception, string runId, string session);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Invocation for input {InputEventId} on {Session}: {Stage}")]
    public static partial void Stage(ILogger logger, string inputEventId, string session, string stage);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Releasing session channel {Session} failed")]
    public static partial void ReleaseFailed(ILogger logger, Exception exception, string session);
}
