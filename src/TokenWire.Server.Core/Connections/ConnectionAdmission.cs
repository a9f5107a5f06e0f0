using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using TokenWire.Protocol;
using TokenWire.Server.Auth;
using TokenWire.Server.Engine;
using TokenWire.Server.Stats;

namespace TokenWire.Server.Connections;

/// <summary>The connect parameters a transport needs, read from the connect request's query string.</summary>
public readonly record struct ConnectParameters(bool Echo, bool Heartbeats, TimeSpan AppendRollupWindow);

/// <summary>
/// The outcome of a connect request: a bound transport and the resume's error (null when resumed or new), or a refusal
/// to send instead of CONNECTED (ERROR, or DISCONNECTED when the client should retry).
/// </summary>
public readonly record struct Admission(IRealtimeTransport? Transport, ErrorInfo? ResumeError, ErrorInfo? Refusal, ProtocolAction RefusalAction)
{
    public static Admission Refused(ErrorInfo error, ProtocolAction action = ProtocolAction.Error) => new(null, null, error, action);
}

/// <summary>
/// Admits a connect request, whatever transport it came on (WebSocket at <c>/</c>, comet at <c>/comet/connect</c>):
/// authenticates from the query string, resumes or recovers the connection (on this node or, with a shared store,
/// from another) or creates one, binds the new transport (ending any transport the connection still had), counts it
/// against the app's limit and records it in the connection store.
/// </summary>
public sealed partial class ConnectionAdmission(Authenticator authenticator, RealtimeServices services, ILogger<RealtimeEndpoint> logger)
{
    private const int SupersededKeyGraceMs = 1000;

    /// <summary>
    /// The protocol versions (<c>v</c>, spec RTN2f/CSV2) whose wire this server speaks: 6 (ably-js 2.20 onwards, this
    /// repository's client) and 5 (ably-js 2.17–2.19), which differs from 6 only in LiveObjects messages, not served
    /// here. Older versions carry messages differently (no <c>version</c> object before 4, no publish serials in ACKs
    /// before 5), so they are refused rather than half understood. Compared as strings, as the spec asks (CSV2e).
    /// </summary>
    private static readonly string[] SupportedVersions = ["5", "6"];

    /// <summary>40017 unless <paramref name="version"/> is one of <see cref="SupportedVersions"/>.</summary>
    public ErrorInfo? VersionRefusal(string version)
    {
        if (SupportedVersions.Contains(version, StringComparer.Ordinal))
        {
            return null;
        }

        var error = ErrorCodes.Create(
            ErrorCodes.UnsupportedProtocolVersion,
            version.Length == 0
                ? $"No protocol version given; connect with v={SupportedVersions[^1]}"
                : $"Unsupported protocol version '{version}'; this server speaks versions {string.Join(" and ", SupportedVersions)}");
        ConnectRefused(logger, error.Code, error.Message);
        return error;
    }

    /// <summary>
    /// Authenticates, resumes or creates the connection and binds the transport <paramref name="createTransport"/> makes
    /// for it. The caller sends CONNECTED (with <see cref="Admission.ResumeError"/>) and runs the transport.
    /// </summary>
    public async Task<Admission> AdmitAsync(IQueryCollection query, Func<RealtimeConnection, ConnectParameters, IRealtimeTransport> createTransport, CancellationToken cancellationToken)
    {
        AuthContext auth;
        TimeSpan appendRollupWindow;
        try
        {
            appendRollupWindow = AppendRollup.ParseWindow(NullIfEmpty(query["appendRollupWindow"]));

            // The SDK sends access_token; the spec text says accessToken. Accept both.
            var token = NullIfEmpty(query["access_token"]) ?? NullIfEmpty(query["accessToken"]);
            auth = token is not null
                ? authenticator.AuthenticateToken(token, NullIfEmpty(query["clientId"]))
                : authenticator.Authenticate(query["key"], NullIfEmpty(query["clientId"]));
        }
        catch (ProtocolException ex)
        {
            ConnectRefused(logger, ex.Error.Code, ex.Error.Message);
            return Admission.Refused(ex.Error);
        }

        var echo = !string.Equals(query["echo"], "false", StringComparison.OrdinalIgnoreCase);
        var resumeKey = NullIfEmpty(query["resume"]) ?? NullIfEmpty(query["recover"]);
        RealtimeConnection connection;
        ErrorInfo? resumeError;
        try
        {
            (connection, resumeError) = await ResumeOrCreateAsync(resumeKey, auth, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            services.ConnectionMetrics.ResumeFailed(resumeKey);
            // The shared connection store (scale-out engine) is unreachable: neither resume nor a new connection can
            // be recorded. DISCONNECTED with a 5xxxx error makes the SDK retry later, keeping its resume key.
            LogConnectionStoreFailed(ex);
            return Admission.Refused(StoreUnavailable(), ProtocolAction.Disconnected);
        }

        services.ConnectionMetrics.Resume(resumeKey, resumed: resumeError is null);
        var heartbeats = string.Equals(query["heartbeats"], "true", StringComparison.OrdinalIgnoreCase);
        var transport = createTransport(connection, new ConnectParameters(echo, heartbeats, appendRollupWindow));

        // Taking over from a transport the server still thinks is alive: end it, so one transport carries the connection.
        connection.Bind(transport)?.Abort();
        if (!services.Live.TryAdd(connection))
        {
            // DISCONNECTED, not ERROR: the limit clears as other connections leave, and the SDK retries by itself.
            connection.Unbind(transport, services.Time.GetUtcNow());
            var limit = services.Options.Limits.MaxConnectionsPerApp;
            ConnectionLimitReached(logger, auth.App.Id, limit);
            return Admission.Refused(ErrorCodes.Create(ErrorCodes.AppConnectionLimit, $"Application connection limit exceeded ({limit} connections); retry later"), ProtocolAction.Disconnected);
        }

        if (resumeError is not null || resumeKey is null)
        {
            services.Stats.For(auth.App.Id).Add(StatsCounter.ConnectionsOpened, 1);
        }

        try
        {
            await services.Connections.AddAsync(connection, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            if (connection.Unbind(transport, services.Time.GetUtcNow()))
            {
                services.Live.Remove(connection);
            }

            LogConnectionStoreFailed(ex);
            return Admission.Refused(StoreUnavailable(), ProtocolAction.Disconnected);
        }

        Connected(logger, connection.Id, resumeKey is not null && resumeError is null, transport.Format);
        return new Admission(transport, resumeError, null, default);
    }

    private static ErrorInfo StoreUnavailable() => ErrorCodes.Create(ErrorCodes.ServiceUnavailable, "Connection state store unavailable; retry");

    private async Task<(RealtimeConnection Connection, ErrorInfo? ResumeError)> ResumeOrCreateAsync(string? resumeKey, AuthContext auth, CancellationToken cancellationToken)
    {
        ErrorInfo? error = null;
        if (resumeKey is not null)
        {
            var (baseKey, generation) = ConnectionIds.ParseKey(resumeKey);
            var existing = await services.Connections.FindAsync(baseKey, cancellationToken).ConfigureAwait(false);
            if (existing is not null && existing.Auth.App == auth.App && existing.Auth.ClientId == auth.ClientId)
            {
                if (generation >= existing.Generation || await WaitUntilFreeAsync(existing, cancellationToken).ConfigureAwait(false))
                {
                    // A resume may bring a renewed token (after 40142): the connection continues with the new rights.
                    existing.Auth = auth;
                    existing.Generation = Math.Max(existing.Generation, generation) + 1;
                    return (existing, null);
                }

                // Two clients holding one key (a recovery key copied to a second tab, say) would otherwise take the
                // connection from each other forever: the one that resumed first keeps it, the other starts afresh.
                error = ErrorCodes.Create(ErrorCodes.InvalidConnectionKey, "Unable to recover connection: the connection key was superseded by a newer resume of this connection");
            }
            else
            {
                error = existing is null && await services.Connections.IsExpiredAsync(baseKey, cancellationToken).ConfigureAwait(false)
                    ? ErrorCodes.Create(ErrorCodes.ConnectionExpired, "Unable to recover connection: connection expired")
                    : ErrorCodes.Create(ErrorCodes.InvalidConnectionKey, "Unable to recover connection: invalid or unknown connection key");
            }
        }

        var id = ConnectionIds.NewConnectionId();
        return (new RealtimeConnection(id, ConnectionIds.NewConnectionKey(id), auth), error);
    }

    /// <summary>
    /// A superseded key may still resume while no transport carries the connection: the client that got the newer
    /// key may never have read it. The transport it lost can take a moment to be noticed, hence the short wait.
    /// </summary>
    private async Task<bool> WaitUntilFreeAsync(RealtimeConnection connection, CancellationToken cancellationToken)
    {
        if (connection.HeldElsewhere)
        {
            return false;
        }

        for (var waited = 0; connection.Transport is not null; waited += 20)
        {
            if (waited >= SupersededKeyGraceMs)
            {
                return false;
            }

            await Task.Delay(20, cancellationToken).ConfigureAwait(false);
        }

        return true;
    }

    private static string? NullIfEmpty(string? value) => string.IsNullOrEmpty(value) ? null : value;

    [LoggerMessage(Level = LogLevel.Debug, Message = "Connection {ConnectionId} connected (resumed: {Resumed}, format: {Format})")]
    private static partial void Connected(ILogger logger, string connectionId, bool resumed, WireFormat format);

    /// <summary>An outage is expected (and logged once by the engine): no warning and stack trace per refused client.</summary>
    private void LogConnectionStoreFailed(Exception exception)
    {
        if (exception is EngineUnavailableException unavailable)
        {
            ConnectionStoreUnavailable(logger, unavailable.Message);
        }
        else
        {
            ConnectionStoreFailed(logger, exception);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Connection refused: the connection state store failed")]
    private static partial void ConnectionStoreFailed(ILogger logger, Exception exception);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Connection refused for now: {Reason}")]
    private static partial void ConnectionStoreUnavailable(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Connection refused: app {AppId} is at its limit of {Limit} connections on this node")]
    private static partial void ConnectionLimitReached(ILogger logger, string appId, int limit);

    [LoggerMessage(Level = LogLevel.Information, Message = "Connection refused: {Code} {Reason}")]
    private static partial void ConnectRefused(ILogger logger, int code, string reason);
}
