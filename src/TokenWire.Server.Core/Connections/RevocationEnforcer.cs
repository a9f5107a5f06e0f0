using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using TokenWire.Protocol;
using TokenWire.Server.Auth;

namespace TokenWire.Server.Connections;

/// <summary>
/// Closes this node's live connections whose token a revocation covers, whichever node recorded it: it listens to
/// <see cref="ITokenRevocationStore.Revoked"/>, which a shared store raises on every node. A revocation in force gets
/// DISCONNECTED 40141 (the SDK fetches a new token and resumes); one within Ably's reauth margin first asks the
/// connection to reauthorize (AUTH), and whoever still holds a revoked token when the margin ends is disconnected then.
/// </summary>
public sealed partial class RevocationEnforcer(
    ITokenRevocationStore store,
    TokenRevocations revocations,
    AppRegistry apps,
    LiveConnections live,
    TimeProvider time,
    IHostApplicationLifetime lifetime,
    ILogger<RevocationEnforcer> logger) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        store.Revoked += OnRevoked;
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        store.Revoked -= OnRevoked;
        return Task.CompletedTask;
    }

    /// <summary>Applies <paramref name="revocation"/> to this node's live connections now (or schedules it).</summary>
    public void OnRevoked(TokenRevocation revocation)
    {
        if (apps.FindKey(revocation.Target.KeyName) is not { } key)
        {
            return;
        }

        var wait = revocation.AppliesAt - time.GetUtcNow().ToUnixTimeMilliseconds();
        if (wait <= 0)
        {
            Disconnect(key.AppId);
            return;
        }

        foreach (var connection in live.ForApp(key.AppId))
        {
            if (TokenRevocations.Matches(revocation, connection.Auth) && connection.Transport is { IsClosing: false } transport)
            {
                transport.Send(new ProtocolMessage(ProtocolAction.Auth));
            }
        }

        _ = DisconnectLaterAsync(key.AppId, TimeSpan.FromMilliseconds(wait));
    }

    /// <summary>
    /// DISCONNECTED 40141 to every live connection of the app whose token is revoked now. A request with several targets
    /// raises one revocation each, and each rescans the app: a connection that several match (or that is closing
    /// anyway) is still closed once, since closing a transport is one-shot.
    /// </summary>
    private void Disconnect(string appId)
    {
        foreach (var connection in live.ForApp(appId))
        {
            if (connection.Transport is { IsClosing: false } transport && revocations.IsRevoked(connection.Auth)
                && transport.SendAndClose(new ProtocolMessage(ProtocolAction.Disconnected) { Error = ErrorCodes.Create(ErrorCodes.TokenRevoked, "Token revoked") }))
            {
                Revoked(logger, connection.Id);
            }
        }
    }

    private async Task DisconnectLaterAsync(string appId, TimeSpan delay)
    {
        try
        {
            // A little past appliesAt, so the check sees the revocation in force.
            await Task.Delay(delay + TimeSpan.FromMilliseconds(50), time, lifetime.ApplicationStopping).ConfigureAwait(false);
            Disconnect(appId);
        }
        catch (OperationCanceledException)
        {
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Connection {ConnectionId}: token revoked; disconnecting with 40141")]
    private static partial void Revoked(ILogger logger, string connectionId);
}
