using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using TokenWire.Protocol;

namespace TokenWire.Server.Push;

/// <summary>
/// OAuth2 access tokens for FCM (RFC 7523 JWT bearer grant): an RS256 assertion signed with the service account's key
/// is exchanged at its <c>token_uri</c> for an access token, which is reused until <see cref="RenewBefore"/> ahead of
/// its expiry. One exchange at a time; concurrent sends wait for it.
/// </summary>
public sealed class FcmAccessTokens(FcmServiceAccount account, HttpClient http, TimeProvider time) : IDisposable
{
    public const string Scope = "https://www.googleapis.com/auth/firebase.messaging";

    public static readonly TimeSpan RenewBefore = TimeSpan.FromMinutes(5);

    private readonly SemaphoreSlim _exchange = new(1, 1);
    private string? _token;
    private DateTimeOffset _expires;

    public async ValueTask<string> GetAsync(CancellationToken cancellationToken)
    {
        if (Valid() is { } cached)
        {
            return cached;
        }

        await _exchange.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return Valid() ?? await ExchangeAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _exchange.Release();
        }
    }

    /// <summary>FCM refused <paramref name="token"/> (401): the next send obtains a new one.</summary>
    public void Invalidate(string token)
    {
        if (Volatile.Read(ref _token) == token)
        {
            Volatile.Write(ref _token, null);
        }
    }

    private string? Valid()
    {
        var token = Volatile.Read(ref _token);
        return token is not null && time.GetUtcNow() < _expires - RenewBefore ? token : null;
    }

    private async Task<string> ExchangeAsync(CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var header = new JsonObject { ["alg"] = "RS256", ["typ"] = "JWT" };
        if (account.PrivateKeyId is { } kid)
        {
            header["kid"] = kid;
        }

        var assertion = JsonWebTokens.Create(
            header,
            new JsonObject { ["iss"] = account.ClientEmail, ["scope"] = Scope, ["aud"] = account.TokenUri.OriginalString, ["iat"] = now.ToUnixTimeSeconds(), ["exp"] = now.AddHours(1).ToUnixTimeSeconds() },
            data => account.Key.SignData(data, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1));
        using var request = PushHttp.Request(HttpMethod.Post, account.TokenUri, http2Only: false);
        request.Content = new FormUrlEncodedContent([new("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"), new("assertion", assertion)]);
        using var response = await http.SendAsync(request, cancellationToken).ConfigureAwait(false);
        var body = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
        {
            // 4xx: the account's key or grant is refused, which retrying will not change; 5xx and 429 are the token service's trouble.
            var transient = (int)response.StatusCode is 429 or >= 500;
            throw new PushDeliveryException(new ErrorInfo(transient ? ErrorCodes.PushProviderUnreachable : ErrorCodes.PushTransportCredentialsInvalid, transient ? 503 : 500, $"FCM access token request refused ({(int)response.StatusCode}): {Truncate(body)}"), permanent: false, retryable: transient);
        }

        try
        {
            using var document = JsonDocument.Parse(body);
            var token = document.RootElement.GetProperty("access_token").GetString()!;
            var lifetime = document.RootElement.TryGetProperty("expires_in", out var e) && e.TryGetInt64(out var seconds) ? seconds : 3600;
            _expires = now.AddSeconds(lifetime);
            Volatile.Write(ref _token, token);
            return token;
        }
        catch (Exception ex) when (ex is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            throw new PushDeliveryException(new ErrorInfo(ErrorCodes.PushProviderUnreachable, 503, "FCM access token response is not understood: " + Truncate(body)), permanent: false, ex, retryable: true);
        }
    }

    internal static string Truncate(string text) => text.Length <= 300 ? text : text[..300] + "…";

    public void Dispose() => _exchange.Dispose();
}
