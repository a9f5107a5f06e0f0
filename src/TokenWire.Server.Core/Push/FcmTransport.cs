using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Options;
using TokenWire.Protocol;
using TokenWire.Server.Configuration;

namespace TokenWire.Server.Push;

/// <summary>
/// <c>fcm</c> recipients (and <c>gcm</c>, FCM's old name, whose tokens FCM still takes) through FCM's HTTP v1 API:
/// <c>POST /v1/projects/{projectId}/messages:send</c> with an OAuth2 access token (<see cref="FcmAccessTokens"/>) and
/// the message <see cref="FcmPayload"/> maps. UNREGISTERED, SENDER_ID_MISMATCH and an INVALID_ARGUMENT about the
/// token fail the device for good; 429, 5xx (UNAVAILABLE, INTERNAL) and an expired access token are retried.
/// </summary>
public sealed class FcmTransport : IPushTransport, IDisposable
{
    public const string HttpClientName = "TokenWire.Push.Fcm";

    private readonly IHttpClientFactory _httpClients;
    private readonly FcmServiceAccount? _account;
    private readonly FcmAccessTokens? _tokens;
    private readonly string _unconfigured = "FCM push delivery is not configured on this server (TokenWire:Push:Fcm): 'fcm' and 'gcm' devices cannot be sent notifications";

    public FcmTransport(IOptions<TokenWireOptions> options, IHttpClientFactory httpClients, TimeProvider time)
    {
        _httpClients = httpClients;
        try
        {
            _account = FcmServiceAccount.Load(options.Value.Push.Fcm);
            _tokens = _account is null ? null : new FcmAccessTokens(_account, httpClients.CreateClient(HttpClientName), time);
        }
        catch (PushConfigurationException ex)
        {
            // Startup validation refuses this; kept for hosts that skip it.
            _unconfigured = "FCM is misconfigured: " + ex.Message;
        }
    }

    public bool Handles(string transportType) => transportType is "fcm" or "gcm";

    public async Task SendAsync(JsonElement recipient, JsonElement payload, CancellationToken cancellationToken)
    {
        if (_account is null || _tokens is null)
        {
            throw new PushDeliveryException(new ErrorInfo(ErrorCodes.PushTransportNotConfigured, 500, _unconfigured), permanent: false);
        }

        var body = FcmPayload.Build(payload, recipient.GetProperty("registrationToken").GetString()!);
        string accessToken;
        HttpResponseMessage response;
        try
        {
            accessToken = await _tokens.GetAsync(cancellationToken).ConfigureAwait(false);
            using var request = PushHttp.Request(HttpMethod.Post, new Uri(_account.BaseUrl, $"/v1/projects/{Uri.EscapeDataString(_account.ProjectId)}/messages:send"), http2Only: false);
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", accessToken);
            request.Content = new StringContent(body, Encoding.UTF8, "application/json");
            response = await _httpClients.CreateClient(HttpClientName).SendAsync(request, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
        {
            throw new PushDeliveryException(new ErrorInfo(ErrorCodes.PushProviderUnreachable, 503, "FCM could not be reached: " + ex.Message), permanent: false, ex, retryable: true);
        }

        using (response)
        {
            if (response.IsSuccessStatusCode)
            {
                return;
            }

            var text = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
            throw Failure((int)response.StatusCode, text, accessToken);
        }
    }

    private PushDeliveryException Failure(int status, string text, string accessToken)
    {
        var (state, errorCode, message, tokenField) = Describe(text);
        var what = $"FCM refused the notification ({status} {errorCode ?? state}): {FcmAccessTokens.Truncate(message)}";
        if (errorCode is "UNREGISTERED" or "SENDER_ID_MISMATCH" || (status == 404 && state == "NOT_FOUND")
            || ((errorCode ?? state) == "INVALID_ARGUMENT" && (tokenField || message.Contains("registration token", StringComparison.OrdinalIgnoreCase))))
        {
            return new PushDeliveryException(new ErrorInfo(ErrorCodes.PushDeviceTokenInvalid, 400, what), permanent: true);
        }

        if (status == 401)
        {
            _tokens!.Invalidate(accessToken);
        }

        var transient = status is 401 or 429 or >= 500 || errorCode is "UNAVAILABLE" or "INTERNAL" or "QUOTA_EXCEEDED";
        var code = transient ? ErrorCodes.PushProviderUnreachable
            : status == 403 || errorCode == "THIRD_PARTY_AUTH_ERROR" ? ErrorCodes.PushTransportCredentialsInvalid
            : ErrorCodes.PushRejectedByProvider;
        return new PushDeliveryException(
            new ErrorInfo(code, transient ? 503 : code == ErrorCodes.PushTransportCredentialsInvalid ? 500 : 400, what),
            permanent: false,
            retryable: transient);
    }

    /// <summary>FCM's error body: <c>error.status</c>, the FcmError detail's <c>errorCode</c>, the message, and whether a bad-request detail names <c>message.token</c>.</summary>
    private static (string? Status, string? ErrorCode, string Message, bool TokenField) Describe(string text)
    {
        try
        {
            using var document = JsonDocument.Parse(text);
            if (!document.RootElement.TryGetProperty("error", out var error) || error.ValueKind != JsonValueKind.Object)
            {
                return (null, null, text, false);
            }

            string? errorCode = null;
            var tokenField = false;
            if (error.TryGetProperty("details", out var details) && details.ValueKind == JsonValueKind.Array)
            {
                foreach (var detail in details.EnumerateArray())
                {
                    if (detail.ValueKind != JsonValueKind.Object)
                    {
                        continue;
                    }

                    if (detail.TryGetProperty("errorCode", out var code) && code.ValueKind == JsonValueKind.String)
                    {
                        errorCode = code.GetString();
                    }

                    if (detail.TryGetProperty("fieldViolations", out var violations) && violations.ValueKind == JsonValueKind.Array)
                    {
                        tokenField |= violations.EnumerateArray().Any(v => v.ValueKind == JsonValueKind.Object && v.TryGetProperty("field", out var f) && f.ValueKind == JsonValueKind.String && f.GetString() == "message.token");
                    }
                }
            }

            var status = error.TryGetProperty("status", out var s) && s.ValueKind == JsonValueKind.String ? s.GetString() : null;
            var message = error.TryGetProperty("message", out var m) && m.ValueKind == JsonValueKind.String ? m.GetString()! : string.Empty;
            return (status, errorCode, message, tokenField);
        }
        catch (JsonException)
        {
            return (null, null, text, false);
        }
    }

    public void Dispose()
    {
        _tokens?.Dispose();
        _account?.Dispose();
    }
}
