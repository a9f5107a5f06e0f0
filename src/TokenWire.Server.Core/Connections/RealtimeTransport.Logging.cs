using Microsoft.Extensions.Logging;

namespace TokenWire.Server.Connections;

public sealed partial class RealtimeTransport
{
    [LoggerMessage(Level = LogLevel.Warning, Message = "Connection {ConnectionId}: outbound queue full ({Limit} bytes); disconnecting slow consumer")]
    private static partial void SlowConsumer(ILogger logger, string connectionId, long limit);

    [LoggerMessage(Level = LogLevel.Information, Message = "Connection {ConnectionId}: malformed frame: {Reason}")]
    private static partial void MalformedFrame(ILogger logger, string connectionId, string reason);
}
