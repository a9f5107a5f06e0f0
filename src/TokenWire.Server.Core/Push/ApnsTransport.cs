using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Options;
using TokenWire.Protocol;
using TokenWire.Server.Configuration;

namespace TokenWire.Server.Push;

/// <summary>
/// <c>apns</c> recipients through Apple's provider API: HTTP/2 <c>POST /3/device/{deviceToken}</c> with a provider
/// token (<see cref="ApnsProviderTokens"/>), the bundle id as <c>apns-topic</c> and the payload
/// <see cref="ApnsPayload"/> maps. Apple's answer decides the outcome: Unregistered (410), BadDeviceToken and
/// DeviceTokenNotForTopic fail the device for good; 429 and 5xx are retried; anything else fails this notification.
/// </summary>
public sealed class ApnsTransport : IPushTransport, IDisposable
{
    public const string HttpClientName = "TokenWire.Push.Apns";

    private readonly IHttpClientFactory _httpClients;
    private readonly TimeProvider _time;
    private readonly ApnsCredentials? _credentials;
    private readonly ApnsProviderTokens? _tokens;
    private readonly string _unconfigured = "APNs push delivery is not configured on this server (TokenWire:Push:Apns): 'apns' devices cannot be sent notifications";

    public ApnsTransport(IOptions<TokenWireOptions> options, IHttpClientFactory httpClients, TimeProvider time)
    {
        _httpClients = httpClients;
        _time = time;
        try
        {
            _credentials = ApnsCredentials.Load(options.Value.Push.Apns);
            _tokens = _credentials is null ? null : new ApnsProviderTokens(_credentials, time);
        }
        catch (PushConfigurationException ex)
        {
            // Startup validation refuses this; kept for hosts that skip it.
            _unconfigured = "APNs is misconfigured: " + ex.Message;
        }
    }

    public bool Handles(string transportType) => transportType == "apns";

    public async Task SendAsync(JsonElement recipient, JsonElement payload, CancellationToken cancellationToken)
    {
        if (_credentials is null || _tokens is null)
        {
            throw new PushDeliveryException(new ErrorInfo(ErrorCodes.PushTransportNotConfigured, 500, _unconfigured), permanent: false);
        }

        var deviceToken = recipient.GetProperty("deviceToken").GetString()!;
        var (body, headers) = ApnsPayload.Build(payload, _time.GetUtcNow());
        var token = _tokens.Current();
        using var request = PushHttp.Request(HttpMethod.Post, new Uri(_credentials.BaseUrl, "/3/device/" + Uri.EscapeDataString(deviceToken)), http2Only: true);
        request.Headers.Authorization = new AuthenticationHeaderValue("bearer", token);
        request.Headers.TryAddWithoutValidation("apns-topic", _credentials.BundleId);
        foreach (var (name, value) in headers)
        {
            request.Headers.Remove(name);
            request.Headers.TryAddWithoutValidation(name, value);
        }

        request.Content = new StringContent(body, Encoding.UTF8, "application/json");
        HttpResponseMessage response;
        try
        {
            response = await _httpClients.CreateClient(HttpClientName).SendAsync(request, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
        {
            throw new PushDeliveryException(new ErrorInfo(ErrorCodes.PushProviderUnreachable, 503, "APNs could not be reached: " + ex.Message), permanent: false, ex, retryable: true);
        }

        using (response)
        {
            if (response.IsSuccessStatusCode)
            {
                return;
            }

            var status = (int)response.StatusCode;
            var reason = await ReasonAsync(response, cancellationToken).ConfigureAwait(false);
            throw Failure(status, reason, token);
        }
    }

    private PushDeliveryException Failure(int status, string reason, string token)
    {
        if (status == 410 || reason is "Unregistered" or "BadDeviceToken" or "DeviceTokenNotForTopic")
        {
            return new PushDeliveryException(new ErrorInfo(ErrorCodes.PushDeviceTokenInvalid, 400, $"APNs no longer accepts this device token ({status} {reason})"), permanent: true);
        }

        if (reason is "ExpiredProviderToken" or "InvalidProviderToken")
        {
            _tokens!.Invalidate(token);
        }

        var transient = status is 429 or >= 500 || reason == "ExpiredProviderToken";
        var code = transient ? ErrorCodes.PushProviderUnreachable
            : status == 403 ? ErrorCodes.PushTransportCredentialsInvalid
            : ErrorCodes.PushRejectedByProvider;
        return new PushDeliveryException(
            new ErrorInfo(code, transient ? 503 : code == ErrorCodes.PushTransportCredentialsInvalid ? 500 : 400, $"APNs refused the notification ({status} {reason})"),
            permanent: false,
            retryable: transient);
    }

    /// <summary>APNs answers errors as <c>{"reason": "..."}</c>.</summary>
    private static async Task<string> ReasonAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        var text = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            using var document = JsonDocument.Parse(text);
            return document.RootElement.TryGetProperty("reason", out var reason) && reason.ValueKind == JsonValueKind.String ? reason.GetString()! : string.Empty;
        }
        catch (JsonException)
        {
            return string.Empty;
        }
    }

    public void Dispose() => _credentials?.Dispose();
}
