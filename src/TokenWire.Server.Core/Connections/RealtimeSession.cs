using Microsoft.Extensions.Logging;
using TokenWire.Protocol;
using TokenWire.Server.Publishing;

namespace TokenWire.Server.Connections;

/// <summary>
/// What one transport's inbound ProtocolMessages mean (a WebSocket's frames or a comet send's array): dispatch by action, the channel attachments, publishes and
/// presence answered in msgSerial order through one <see cref="AcknowledgementQueue"/>, CONNECTED, token expiry and
/// in-band AUTH. Handlers run one at a time on the transport's read loop (under the connection's inbound gate), so
/// the session's state needs no lock of its own. Its handlers live in the <c>RealtimeSession.*.cs</c> partial files;
/// every field is declared here.
/// </summary>
public sealed partial class RealtimeSession
{
    /// <summary>Channels whose latest publish is remembered before settled ones are forgotten.</summary>
    private const int MaxTrackedAppendOrders = 64;

    private readonly IRealtimeTransport _transport;
    private readonly RealtimeServices _services;

    // Created by the first publish or presence operation: a connection that only subscribes never needs them.
    private InboundRateLimiter? _inboundRate;
    private AcknowledgementQueue? _acknowledgements;
    private readonly ChannelAttachments _attachments = new();

    /// <summary>This connection's <c>appendRollupWindow</c> for the appends it publishes (<see cref="AppendRollup"/>).</summary>
    private readonly TimeSpan _appendRollupWindow;

    /// <summary>Per channel, this transport's latest publish: the next one is ordered after it (<see cref="AppendOrder"/>).</summary>
    private Dictionary<string, AppendOrder>? _appendOrders;

    private ITimer? _expiryTimer;
    private long _syncIds;

    internal RealtimeSession(IRealtimeTransport transport, RealtimeConnection connection, RealtimeServices services, TimeSpan appendRollupWindow)
    {
        _transport = transport;
        _services = services;
        _appendRollupWindow = appendRollupWindow;
        Connection = connection;
    }

    public RealtimeConnection Connection { get; }

    private string ConnectionId => Connection.Id;

    /// <summary>Handlers run one at a time (see the class), so creating it on first use needs no lock.</summary>
    private AcknowledgementQueue Acknowledgements =>
        _acknowledgements ??= new AcknowledgementQueue(_transport.SendAnswer, EndForEngineOutage, _services.Logger, Connection.Id, _services.MessageMetrics);

    /// <summary>Handles one inbound message; false when the transport should stop reading.</summary>
    internal async ValueTask<bool> HandleAsync(ProtocolMessage message, CancellationToken cancellationToken)
    {
        await Connection.EnterInboundAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            switch (message.Action)
            {
                case ProtocolAction.Heartbeat:
                    // connection.ping(): echo the id back.
                    Send(new ProtocolMessage(ProtocolAction.Heartbeat) { Id = message.Id });
                    return true;
                case ProtocolAction.Attach:
                    await HandleAttachAsync(message, cancellationToken).ConfigureAwait(false);
                    return true;
                case ProtocolAction.Detach:
                    await HandleDetachAsync(message).ConfigureAwait(false);
                    return true;
                case ProtocolAction.Message:
                    await HandlePublishAsync(message, cancellationToken).ConfigureAwait(false);
                    return true;
                case ProtocolAction.Presence:
                    await HandlePresenceAsync(message, cancellationToken).ConfigureAwait(false);
                    return true;
                case ProtocolAction.Sync:
                    await HandleSyncRequestAsync(message, cancellationToken).ConfigureAwait(false);
                    return true;
                case ProtocolAction.Annotation:
                    await HandleAnnotationAsync(message, cancellationToken).ConfigureAwait(false);
                    return true;
                case ProtocolAction.Object:
                    Nack(message, ErrorCodes.Create(ErrorCodes.BadRequest, $"{message.Action} is not supported by this server yet"));
                    return true;
                case ProtocolAction.Close:
                    // A clean close ends the connection: its presence members leave now (reference §4.10).
                    await _services.Presence.LeaveAsync(Connection, channel: null).ConfigureAwait(false);
                    await RemoveConnectionAsync().ConfigureAwait(false);
                    _transport.SendAndClose(new ProtocolMessage(ProtocolAction.Closed));
                    return false;
                case ProtocolAction.Disconnect:
                    _transport.SendAndClose(new ProtocolMessage(ProtocolAction.Disconnected));
                    return false;
                case ProtocolAction.Auth:
                    HandleAuth(message);
                    return true;
                case ProtocolAction.Activate:
                    return true;
                default:
                    _transport.Fail(ErrorCodes.Create(ErrorCodes.ProtocolError, $"Unexpected protocol action {(int)message.Action} from client"));
                    return false;
            }
        }
        finally
        {
            Connection.ExitInbound();
        }
    }

    /// <summary>Detaches every channel as the transport ends (its read loop has stopped).</summary>
    internal void DetachAll()
    {
        foreach (var attachment in _attachments.TakeAll())
        {
            Release(attachment);
        }
    }

    /// <summary>
    /// The transport is gone: unless a resume already took the connection over, it is now disconnected — off this
    /// node's live set, its presence members leaving after the grace period, its resumable state kept in the store.
    /// </summary>
    internal async Task TransportEndedAsync()
    {
        _expiryTimer?.Dispose();
        var now = _services.Time.GetUtcNow();
        if (Connection.Unbind(_transport, now))
        {
            _services.Live.Remove(Connection);
            _services.Presence.ScheduleLeave(Connection);
            await MarkDisconnectedAsync(now).ConfigureAwait(false);
        }
    }

    private void Send(ProtocolMessage message) => _transport.Send(message);

    /// <summary>
    /// An operation outlasted an engine outage (<see cref="AcknowledgementQueue"/>): DISCONNECTED, so the SDK resumes at
    /// once and retransmits what is unacknowledged (on this node or another), rather than a NACK it cannot retry safely.
    /// </summary>
    private void EndForEngineOutage(ErrorInfo error)
    {
        EndedForEngineOutage(_services.Logger, ConnectionId, error.Message);
        _transport.SendAndClose(new ProtocolMessage(ProtocolAction.Disconnected) { Error = error });
    }

    /// <summary>
    /// Issues an operation in msgSerial order and answers it (ACK or NACK) when it completes; the read loop waits only
    /// when the connection has too many operations in flight.
    /// </summary>
    private ValueTask AcknowledgeAsync(long msgSerial, ValueTask<PublishResult?> operation, string channel)
    {
        var acknowledgements = Acknowledgements;
        acknowledgements.Enqueue(msgSerial, operation, channel);
        return acknowledgements.WaitForRoomAsync();
    }

    /// <summary>NACKs in msgSerial order: queued behind any operation of this transport still awaiting its ACK.</summary>
    private void Nack(ProtocolMessage message, ErrorInfo error)
    {
        if (message.MsgSerial is { } serial)
        {
            Acknowledgements.Nack(serial, error);
        }
    }

    /// <summary>
    /// Takes <paramref name="count"/> from the inbound rate; over it, the operation is NACKed 42911 — nonfatal, as in
    /// Ably: the connection and later operations carry on.
    /// </summary>
    private bool RateLimited(ProtocolMessage message, int count)
    {
        var limits = _services.Options.Limits;
        _inboundRate ??= new InboundRateLimiter(limits.MaxInboundRate, limits.InboundBurst, _services.Time);
        if (_inboundRate.TryTake(count))
        {
            return false;
        }

        Nack(message, ErrorCodes.Create(
            ErrorCodes.InboundRateLimited,
            $"Rate limit exceeded; request rejected (nonfatal); metric = connection.inboundRate; permitted rate = {_services.Options.Limits.MaxInboundRate}/s"));
        return true;
    }

    /// <summary>MESSAGE and PRESENCE must carry a msgSerial (the ACK names it); without one the connection fails.</summary>
    private bool TryGetMsgSerial(ProtocolMessage message, out long msgSerial)
    {
        if (message.MsgSerial is { } serial)
        {
            msgSerial = serial;
            return true;
        }

        _transport.Fail(ErrorCodes.Create(ErrorCodes.ProtocolError, $"{message.Action.ToString().ToUpperInvariant()} without msgSerial"));
        msgSerial = 0;
        return false;
    }

    // A store that cannot be reached is logged, not thrown: the socket is gone either way, and a shared store catches
    // up on its own.
    private async Task MarkDisconnectedAsync(DateTimeOffset now)
    {
        try
        {
            await _services.Connections.MarkDisconnectedAsync(Connection, now).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            ConnectionStateFailed(_services.Logger, ex, ConnectionId);
        }
    }

    private async Task RemoveConnectionAsync()
    {
        try
        {
            await _services.Connections.RemoveAsync(Connection).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            ConnectionStateFailed(_services.Logger, ex, ConnectionId);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Connection {ConnectionId}: updating the connection state store failed")]
    private static partial void ConnectionStateFailed(ILogger logger, Exception exception, string connectionId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Connection {ConnectionId}: attach to {Channel} failed; the channel was told to retry")]
    private static partial void AttachFailed(ILogger logger, Exception exception, string connectionId, string channel);

    /// <summary>Debug: every publisher of a node hits this in a long outage; EngineOutage logs the summary.</summary>
    [LoggerMessage(Level = LogLevel.Debug, Message = "Connection {ConnectionId}: disconnected to resume after an engine outage: {Reason}")]
    private static partial void EndedForEngineOutage(ILogger logger, string connectionId, string reason);
}
