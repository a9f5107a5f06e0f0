using Microsoft.Extensions.Logging;

namespace TokenWire.Client.Internal;

/// <summary>Log messages of the internal helpers (transport, REST, dispatcher). Event ids 100-199.</summary>
internal static partial class ClientLog
{
    [LoggerMessage(EventId = 100, Level = LogLevel.Error, Message = "A user callback threw; the exception was swallowed so other callbacks still run")]
    public static partial void CallbackFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 101, Level = LogLevel.Debug, Message = "Transport {TransportId} ended: {Reason}")]
    public static partial void TransportEnded(ILogger logger, int transportId, string reason);

    [LoggerMessage(EventId = 102, Level = LogLevel.Warning, Message = "Transport {TransportId} received a malformed frame: {Reason}")]
    public static partial void MalformedFrame(ILogger logger, int transportId, string reason);

    [LoggerMessage(EventId = 103, Level = LogLevel.Trace, Message = "Transport {TransportId} sent {Action} channel={Channel} msgSerial={MsgSerial}")]
    public static partial void FrameSent(ILogger logger, int transportId, Protocol.ProtocolAction action, string? channel, long? msgSerial);

    [LoggerMessage(EventId = 104, Level = LogLevel.Trace, Message = "Transport {TransportId} received {Action} channel={Channel} msgSerial={MsgSerial}")]
    public static partial void FrameReceived(ILogger logger, int transportId, Protocol.ProtocolAction action, string? channel, long? msgSerial);

    [LoggerMessage(EventId = 110, Level = LogLevel.Debug, Message = "REST {Method} {Path} -> {Status}")]
    public static partial void RestRequest(ILogger logger, string method, string path, int status);

    [LoggerMessage(EventId = 111, Level = LogLevel.Information, Message = "REST token error {Code}; renewing the token and retrying once")]
    public static partial void RestTokenRenewal(ILogger logger, int code);
}
