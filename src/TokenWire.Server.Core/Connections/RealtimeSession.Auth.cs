using TokenWire.Protocol;
using TokenWire.Server.Auth;
using TokenWire.Server.Channels;

namespace TokenWire.Server.Connections;

/// <summary>CONNECTED, token expiry and in-band AUTH (reference §4.1, §4.9; spec RTN22, RTC8).</summary>
public sealed partial class RealtimeSession
{
    /// <summary>Sends CONNECTED with the connection's details and (re)arms the token expiry timer.</summary>
    public void SendConnected(ErrorInfo? error)
    {
        var auth = Connection.Auth;
        var options = _services.Options;
        Send(new ProtocolMessage(ProtocolAction.Connected)
        {
            ConnectionId = Connection.Id,
            Error = error,
            ConnectionDetails = new ConnectionDetails
            {
                ConnectionKey = Connection.CurrentKey,
                ClientId = auth.ClientId,
                MaxMessageSize = auth.App.MaxMessageSize,
                MaxInboundRate = options.Limits.MaxInboundRate,
                MaxOutboundRate = options.Limits.MaxOutboundRate,
                MaxFrameSize = options.Limits.MaxFrameSize,
                ServerId = options.ServerId,
                ConnectionStateTtl = (long)options.Connection.StateTtl.TotalMilliseconds,
                MaxIdleInterval = (long)options.Connection.MaxIdleInterval.TotalMilliseconds,
            },
        });
        ArmExpiry(auth);
    }

    /// <summary>
    /// When the token expires the client gets DISCONNECTED 40142: it fetches a new token and reconnects with
    /// <c>resume</c>, so nothing is lost.
    /// </summary>
    private void ArmExpiry(AuthContext auth)
    {
        _expiryTimer?.Dispose();
        if (auth.ExpiresAt is not { } expiresAt)
        {
            return;
        }

        var due = expiresAt - _services.Time.GetUtcNow();
        _expiryTimer = _services.Time.CreateTimer(
            _ => _transport.SendAndClose(new ProtocolMessage(ProtocolAction.Disconnected) { Error = ErrorCodes.Create(ErrorCodes.TokenExpired, "Token expired") }),
            null,
            due > TimeSpan.Zero ? due : TimeSpan.Zero,
            Timeout.InfiniteTimeSpan);
    }

    /// <summary>In-band AUTH: a new token for the same identity; channels it no longer permits fail with 40160.</summary>
    private void HandleAuth(ProtocolMessage message)
    {
        AuthContext renewed;
        try
        {
            if (message.AuthAccessToken is not { } token)
            {
                throw new ProtocolException(ErrorCodes.BadRequest, "AUTH without auth.accessToken");
            }

            renewed = _services.Authenticator.AuthenticateToken(token, null);
            if (renewed.App != Connection.Auth.App || renewed.ClientId != Connection.Auth.ClientId)
            {
                throw new ProtocolException(ErrorCodes.IncompatibleCredentials, "The new token's identity does not match the connection's clientId");
            }
        }
        catch (ProtocolException ex)
        {
            _transport.Fail(ex.Error);
            return;
        }

        Connection.Auth = renewed;
        foreach (var (name, attachment) in _attachments.RemoveWhere(name => renewed.Capability.OperationsFor(QualifiedChannelName.Unqualified(name)) == ChannelOperation.None))
        {
            Release(attachment);
            ChannelError(name, ErrorCodes.Create(ErrorCodes.OperationNotPermitted, $"Permission denied: the new token has no capability for channel '{name}'"));
        }

        SendConnected(null);
    }
}
