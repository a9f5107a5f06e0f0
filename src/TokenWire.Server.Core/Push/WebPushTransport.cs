using System.Net;
using System.Text.Json;
using Lib.Net.Http.WebPush;
using Lib.Net.Http.WebPush.Authentication;
using Microsoft.Extensions.Options;
using TokenWire.Protocol;
using TokenWire.Server.Configuration;

namespace TokenWire.Server.Push;

/// <summary>
/// <c>web</c> recipients through the Web Push protocol (RFC 8030): the payload encrypted for the browser's
/// subscription (aes128gcm, RFC 8291) and the request signed with the server's VAPID key (RFC 8292), by
/// Lib.Net.Http.WebPush. What the service worker receives is the payload's JSON with its <c>web</c> overrides applied
/// and the other platforms' (<c>apns</c>, <c>fcm</c>) left out.
/// </summary>
public sealed class WebPushTransport : IPushTransport, IDisposable
{
    private readonly HttpClient? _http;
    private readonly PushServiceClient? _client;
    private readonly VapidAuthentication? _vapid;
    private readonly string? _unconfigured;

    public WebPushTransport(IOptions<TokenWireOptions> options)
    {
        var vapid = options.Value.Push.Vapid;
        if (!vapid.IsConfigured)
        {
            _unconfigured = "Web Push is not configured on this server: set TokenWire:Push:Vapid:Subject, PublicKey and PrivateKey";
            return;
        }

        try
        {
            _vapid = new VapidAuthentication(vapid.PublicKey, vapid.PrivateKey) { Subject = vapid.Subject };
        }
        catch (ArgumentException ex)
        {
            _unconfigured = "Web Push is misconfigured: " + ex.Message;
            return;
        }

        _http = new HttpClient(new VapidOriginHandler(_vapid));
        _client = new PushServiceClient(_http)
        {
            DefaultAuthenticationScheme = VapidAuthenticationScheme.Vapid,
            AutoRetryAfter = false,
        };
    }

    public bool Handles(string transportType) => transportType == "web";

    public async Task SendAsync(JsonElement recipient, JsonElement payload, CancellationToken cancellationToken)
    {
        if (_client is null || _vapid is null)
        {
            throw new PushDeliveryException(new ErrorInfo(ErrorCodes.PushTransportNotConfigured, 500, _unconfigured!), permanent: false);
        }

        var (endpoint, p256dh, auth) = PushRecipients.WebTarget(recipient);
        var subscription = new PushSubscription { Endpoint = endpoint.OriginalString, Keys = new Dictionary<string, string> { ["p256dh"] = p256dh, ["auth"] = auth } };
        var message = new PushMessage(Content(payload)) { Urgency = PushMessageUrgency.Normal, TimeToLive = 86_400 };
        try
        {
            await _client.RequestPushMessageDeliveryAsync(subscription, message, _vapid, VapidAuthenticationScheme.Vapid, cancellationToken).ConfigureAwait(false);
        }
        catch (PushServiceClientException ex) when (ex.StatusCode is HttpStatusCode.NotFound or HttpStatusCode.Gone)
        {
            throw new PushDeliveryException(new ErrorInfo(ErrorCodes.PushDeviceTokenInvalid, 400, $"The push service no longer knows this subscription ({(int)ex.StatusCode})"), permanent: true, ex);
        }
        catch (PushServiceClientException ex) when ((int)ex.StatusCode is >= 400 and < 500 and not 429)
        {
            throw new PushDeliveryException(new ErrorInfo(ErrorCodes.PushRejectedByProvider, 400, $"The push service rejected the notification ({(int)ex.StatusCode}): {ex.Message}"), permanent: false, ex);
        }
        catch (Exception ex) when (ex is PushServiceClientException or HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
        {
            throw new PushDeliveryException(new ErrorInfo(ErrorCodes.PushProviderUnreachable, 503, "The push service could not be reached: " + ex.Message), permanent: false, ex, retryable: true);
        }
        catch (ArgumentException ex)
        {
            throw new PushDeliveryException(new ErrorInfo(ErrorCodes.PushDeviceTokenInvalid, 400, "The web recipient's keys are not valid: " + ex.Message), permanent: true, ex);
        }
    }

    /// <summary>The payload less other platforms' overrides, with its <c>web</c> object's members laid over it.</summary>
    internal static string Content(JsonElement payload)
    {
        var members = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
        foreach (var property in payload.EnumerateObject())
        {
            if (property.Name is not ("apns" or "fcm" or "web"))
            {
                members[property.Name] = property.Value;
            }
        }

        if (payload.TryGetProperty("web", out var web) && web.ValueKind == JsonValueKind.Object)
        {
            foreach (var property in web.EnumerateObject())
            {
                members[property.Name] = property.Value;
            }
        }

        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream))
        {
            w.WriteStartObject();
            foreach (var (name, value) in members)
            {
                w.WritePropertyName(name);
                value.WriteTo(w);
            }

            w.WriteEndObject();
        }

        return System.Text.Encoding.UTF8.GetString(stream.ToArray());
    }

    public void Dispose()
    {
        _http?.Dispose();
        _vapid?.Dispose();
    }
}
