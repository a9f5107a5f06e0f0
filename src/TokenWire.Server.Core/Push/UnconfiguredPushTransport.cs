using System.Text.Json;
using TokenWire.Protocol;

namespace TokenWire.Server.Push;

/// <summary>
/// APNs and FCM (and FCM's legacy name, <c>gcm</c>): their delivery needs the provider's credentials and the internet
/// and is not built into this server yet, so a notification for such a device fails with 103006, recorded on the
/// device's registration (<c>push.state</c> FAILING, <c>push.error</c>) and logged.
/// </summary>
public sealed class UnconfiguredPushTransport : IPushTransport
{
    public bool Handles(string transportType) => transportType is "apns" or "fcm" or "gcm";

    public Task SendAsync(JsonElement recipient, JsonElement payload, CancellationToken cancellationToken)
    {
        var type = recipient.GetProperty("transportType").GetString();
        var provider = type == "apns" ? "APNs" : "FCM";
        throw new PushDeliveryException(new ErrorInfo(ErrorCodes.PushTransportNotConfigured, 500, $"{provider} push delivery is not configured on this server: '{type}' devices cannot be sent notifications"), permanent: false);
    }
}
