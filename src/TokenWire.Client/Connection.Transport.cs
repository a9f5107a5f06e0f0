using System.Net.WebSockets;
using System.Text;
using TokenWire.Client.Internal;
using TokenWire.Protocol;

namespace TokenWire.Client;

/// <summary>Opening a transport (URL, credentials, WebSocket handshake) and watching it for silence.</summary>
public sealed partial class Connection
{
    private async Task<Uri?> BuildUriAsync(Session session)
    {
        KeyValuePair<string, string> credential;
        try
        {
            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(session.Transport.Stopping);
            deadline.CancelAfter(_options.RealtimeRequestTimeout);
            credential = await _auth.GetQueryParameterAsync(deadline.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is AblyException or OperationCanceledException)
        {
            var reason = ex is AblyException ably ? ably.ErrorInfo : new ErrorInfo(40170, 401, "AuthCallback timed out");
            lock (Gate)
            {
                // 403 from the auth provider means it will never succeed (RSA4d); anything else is retried.
                session.FinishLocked(reason.StatusCode == 403 ? SessionEndKind.Failed : SessionEndKind.Disconnected, reason);
            }

            return null;
        }

        lock (Gate)
        {
            return RealtimeUri(credential, _key);
        }
    }

    /// <summary>
    /// <c>ws[s]://endpoint:port/?key|access_token&amp;resume&amp;clientId&amp;echo&amp;format&amp;heartbeats&amp;v&amp;agent</c>
    /// (reference §1.1). <c>heartbeats=true</c> asks for HEARTBEAT frames: .NET does not surface WebSocket pings,
    /// and the idle timer needs to see activity.
    /// </summary>
    internal Uri RealtimeUri(KeyValuePair<string, string> credential, string? resumeKey)
    {
        var query = new StringBuilder();
        void Add(string name, string value)
        {
            query.Append(query.Length == 0 ? "" : "&").Append(name).Append('=').Append(Uri.EscapeDataString(value));
        }

        Add(credential.Key, credential.Value);
        if (resumeKey is not null)
        {
            Add("resume", resumeKey);
        }

        if (_options.ClientId is { } clientId)
        {
            Add("clientId", clientId);
        }

        if (!_options.EchoMessages)
        {
            Add("echo", "false");
        }

        Add("format", _options.UseBinaryProtocol ? "msgpack" : "json");
        Add("heartbeats", "true");
        Add("v", "6");
        Add("agent", RestClient.AgentString);
        foreach (var (name, value) in _options.TransportParams ?? new Dictionary<string, string>())
        {
            Add(name, value);
        }

        return new UriBuilder(_options.Tls ? "wss" : "ws", _options.Endpoint, _options.EffectivePort, "/") { Query = query.ToString() }.Uri;
    }

    private async Task<bool> OpenAsync(Session session, Uri uri)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(session.Transport.Stopping);
        deadline.CancelAfter(_options.RealtimeRequestTimeout);
        try
        {
            await session.Transport.ConnectAsync(uri, deadline.Token).ConfigureAwait(false);
            return true;
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or HttpRequestException or IOException)
        {
            lock (Gate)
            {
                session.FinishLocked(SessionEndKind.Disconnected, ErrorCodes.Create(ErrorCodes.ConnectionDisconnected, $"Unable to connect to {_options.Endpoint}:{_options.EffectivePort}: {ex.Message}"));
            }

            return false;
        }
    }

    /// <summary>
    /// The idle timer (spec RTN23a): no frame at all for maxIdleInterval + realtimeRequestTimeout means the
    /// transport is dead even if the socket looks open; drop it and reconnect (resuming).
    /// </summary>
    private async Task MonitorIdleAsync(Session session)
    {
        var transport = session.Transport;
        while (!transport.Stopping.IsCancellationRequested)
        {
            long maxIdle;
            lock (Gate)
            {
                maxIdle = _details?.MaxIdleInterval ?? 0;
            }

            if (maxIdle <= 0)
            {
                await transport.Completion.ConfigureAwait(false);
                return;
            }

            var limit = maxIdle + (long)_options.RealtimeRequestTimeout.TotalMilliseconds;
            var silent = Environment.TickCount64 - transport.LastActivityTicks;
            if (silent >= limit)
            {
                IdleTimeout(_logger, silent);
                lock (Gate)
                {
                    session.FinishLocked(SessionEndKind.Disconnected, new ErrorInfo(ErrorCodes.ConnectionDisconnected, 408, $"No activity seen from the server for {silent} ms; assuming the connection has dropped"));
                }

                return;
            }

            try
            {
                await Task.Delay(TimeSpan.FromMilliseconds(limit - silent), transport.Stopping).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }
}
