using System.Net.Http.Headers;
using System.Text;
using TokenWire.Protocol;

namespace TokenWire.Client.Internal;

/// <summary>
/// The client's credentials: the API key (Basic auth), or a token from <see cref="RealtimeClientOptions.AuthCallback"/>,
/// cached until the server reports a token error. This is the seam where token requests, authUrl and
/// TokenDetails will plug in.
/// </summary>
internal sealed class AuthProvider(RealtimeClientOptions options)
{
    private readonly Lock _gate = new();
    private string? _token;

    public bool UsesToken => options.AuthCallback is not null;

    /// <summary>Token error codes (40140-40149): the SDK renews the token and retries (reference §4.2, §4.9).</summary>
    public static bool IsTokenError(ErrorInfo? error) => error is { Code: >= 40140 and < 40150 };

    /// <summary>The query parameter that authenticates a WebSocket: <c>key</c> or <c>access_token</c>.</summary>
    public async ValueTask<KeyValuePair<string, string>> GetQueryParameterAsync(CancellationToken cancellationToken) =>
        UsesToken
            ? new("access_token", await GetTokenAsync(cancellationToken).ConfigureAwait(false))
            : new("key", options.Key!);

    /// <summary><c>Basic base64(key)</c>, or <c>Bearer base64(token)</c> (Ably base64-encodes the token, reference §5.1).</summary>
    public async ValueTask<AuthenticationHeaderValue> GetAuthorizationAsync(CancellationToken cancellationToken)
    {
        if (!UsesToken)
        {
            return new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(options.Key!)));
        }

        var token = await GetTokenAsync(cancellationToken).ConfigureAwait(false);
        return new AuthenticationHeaderValue("Bearer", Convert.ToBase64String(Encoding.UTF8.GetBytes(token)));
    }

    /// <summary>Forgets the cached token so the next request asks the callback for a new one.</summary>
    public void InvalidateToken()
    {
        lock (_gate)
        {
            _token = null;
        }
    }

    private async ValueTask<string> GetTokenAsync(CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            if (_token is not null)
            {
                return _token;
            }
        }

        string token;
        try
        {
            token = await options.AuthCallback!(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // 40170: the spec's "error from the auth callback".
            throw new AblyException(new ErrorInfo(40170, 401, "AuthCallback failed: " + ex.Message), ex);
        }

        if (string.IsNullOrEmpty(token))
        {
            throw new AblyException(new ErrorInfo(40170, 401, "AuthCallback returned an empty token"));
        }

        lock (_gate)
        {
            _token = token;
        }

        return token;
    }
}
