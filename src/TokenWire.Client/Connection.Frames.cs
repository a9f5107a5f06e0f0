using TokenWire.Client.Internal;
using TokenWire.Protocol;

namespace TokenWire.Client;

/// <summary>Inbound frames, handled on the transport's read loop one at a time (reference §2.2, §4).</summary>
public sealed partial class Connection
{
    private void OnFrame(WebSocketTransport transport, ProtocolMessage message)
    {
        Session session;
        lock (Gate)
        {
            // Frames from a transport that has been replaced or ended are stale: its successor resends what matters.
            if (_session is not { End: null } current || current.Transport != transport)
            {
                return;
            }

            session = current;
        }

        switch (message.Action)
        {
            case ProtocolAction.Heartbeat:
                // Any frame already reset the idle timer; an id answers one of our pings (the server's own
                // heartbeats carry none and need no reply).
                OnHeartbeat(message);
                break;
            case ProtocolAction.Connected:
                OnConnected(session, message);
                break;
            case ProtocolAction.Disconnected:
                lock (Gate)
                {
                    var reason = message.Error ?? ErrorCodes.Create(ErrorCodes.ConnectionDisconnected, "Disconnected by the server");

                    // A token error with no way to renew the token can never succeed (RTN15h1).
                    var kind = AuthProvider.IsTokenError(reason) && !_auth.UsesToken ? SessionEndKind.Failed : SessionEndKind.Disconnected;
                    session.FinishLocked(kind, reason);
                }

                break;
            case ProtocolAction.Error when message.Channel is null:
                lock (Gate)
                {
                    var reason = message.Error ?? ErrorCodes.Create(ErrorCodes.ConnectionFailed, "Connection failed");
                    var kind = AuthProvider.IsTokenError(reason) && _auth.UsesToken ? SessionEndKind.Disconnected : SessionEndKind.Failed;
                    session.FinishLocked(kind, reason);
                }

                break;
            case ProtocolAction.Closed:
                lock (Gate)
                {
                    session.FinishLocked(SessionEndKind.Closed, ConnectionClosedError());
                }

                break;
            case ProtocolAction.Ack:
                OnAck(message);
                break;
            case ProtocolAction.Nack:
                OnNack(message);
                break;
            case ProtocolAction.Attached or ProtocolAction.Detached or ProtocolAction.Message or ProtocolAction.Presence or ProtocolAction.Sync
                or ProtocolAction.Annotation or ProtocolAction.Error:
                if (message.Channel is { } name && Channels.Find(name) is { } channel)
                {
                    channel.OnFrame(message);
                }

                break;
            case ProtocolAction.Auth:
                _ = ReauthorizeAsync(session);
                break;
            default:
                // Objects: not supported by this SDK yet; unknown actions are ignored (RSF1).
                break;
        }
    }

    /// <summary>
    /// CONNECTED (reference §4.1, §4.8). The first on a transport activates it: same connectionId as before means the
    /// resume succeeded and unacked publishes are resent with their msgSerials; a new id means a new connection, so
    /// they are renumbered from 0. Then every channel re-attaches with its channelSerial and queued publishes go out.
    /// A later CONNECTED on the same transport (after in-band reauth) only updates the details.
    /// </summary>
    private void OnConnected(Session session, ProtocolMessage message)
    {
        lock (Gate)
        {
            if (session.End is not null)
            {
                return;
            }

            if (message.ConnectionDetails is not { ConnectionKey.Length: > 0 } details || string.IsNullOrEmpty(message.ConnectionId))
            {
                session.FinishLocked(SessionEndKind.Disconnected, ErrorCodes.Create(ErrorCodes.ProtocolError, "CONNECTED without connectionId and connectionDetails.connectionKey"));
                return;
            }

            var previousId = _id;
            _id = message.ConnectionId;
            _key = details.ConnectionKey;
            _details = details;
            if (session.WasConnected)
            {
                return;
            }

            var resumed = previousId is not null && previousId == message.ConnectionId;
            Connected(_logger, message.ConnectionId, resumed, message.Error?.ToString());
            if (!resumed)
            {
                RenumberPendingLocked();
            }

            _disconnectedSinceTicks = null;
            SetStateLocked(ConnectionState.Connected, message.Error);
            session.Connected.TrySetResult();

            Channels.OnConnectedLocked();
            foreach (var pending in _pending)
            {
                session.Transport.Send(pending.Message);
            }

            while (_queued.TryDequeue(out var queued))
            {
                SendPublishLocked(queued);
            }
        }
    }

    /// <summary>Server-requested reauth (AUTH, RTN22): send a fresh token in-band, if there is a way to get one.</summary>
    private async Task ReauthorizeAsync(Session session)
    {
        if (!_auth.UsesToken)
        {
            return;
        }

        try
        {
            _auth.InvalidateToken();
            var credential = await _auth.GetQueryParameterAsync(session.Transport.Stopping).ConfigureAwait(false);
            lock (Gate)
            {
                if (session.End is null)
                {
                    session.Transport.Send(new ProtocolMessage(ProtocolAction.Auth) { AuthAccessToken = credential.Value });
                }
            }
        }
        catch (Exception ex) when (ex is AblyException or OperationCanceledException)
        {
            ReauthFailed(_logger, ex.Message);
        }
    }
}
