using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace TokenWire.Server.Push;

/// <summary>
/// Ably's push payload as APNs takes it: <c>notification.title</c>/<c>body</c> → <c>aps.alert</c>, <c>sound</c> →
/// <c>aps.sound</c>, <c>badge</c> → <c>aps.badge</c>, <c>collapseKey</c> → <c>aps.thread-id</c>, <c>icon</c>
/// dropped, <c>data</c>'s members merged into the root; then the <c>apns</c> object laid over the result, less its
/// <c>apns-headers</c>, which set request headers. <c>apns-push-type</c> is <c>alert</c> when there is something to
/// show (priority 10) and <c>background</c> otherwise (priority 5, as Apple requires); a notification expires a day
/// after it is sent unless <c>apns-expiration</c> says otherwise.
/// </summary>
public static class ApnsPayload
{
    public static readonly TimeSpan DefaultExpiry = TimeSpan.FromDays(1);

    public static (string Body, IReadOnlyDictionary<string, string> Headers) Build(JsonElement payload, DateTimeOffset now)
    {
        var root = new JsonObject();
        if (PushPayloadJson.Object(payload, "data") is { } data)
        {
            foreach (var (name, value) in data)
            {
                root[name] = value?.DeepClone();
            }
        }

        var aps = new JsonObject();
        var notification = PushPayloadJson.Object(payload, "notification");
        var alert = new JsonObject();
        if (PushPayloadJson.Value(notification, "title") is { } title)
        {
            alert["title"] = title;
        }

        if (PushPayloadJson.Value(notification, "body") is { } body)
        {
            alert["body"] = body;
        }

        if (alert.Count > 0)
        {
            aps["alert"] = alert;
        }

        if (PushPayloadJson.Value(notification, "sound") is { } sound)
        {
            aps["sound"] = sound;
        }

        if (PushPayloadJson.Value(notification, "badge") is { } badge)
        {
            aps["badge"] = badge;
        }

        if (PushPayloadJson.Value(notification, "collapseKey") is { } collapseKey)
        {
            aps["thread-id"] = collapseKey;
        }

        root["aps"] = aps;
        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        if (PushPayloadJson.Object(payload, "apns") is { } overrides)
        {
            if (overrides["apns-headers"] is JsonObject explicitHeaders)
            {
                foreach (var (name, value) in explicitHeaders)
                {
                    if (value is not null)
                    {
                        headers[name] = PushPayloadJson.AsString(value);
                    }
                }
            }

            overrides.Remove("apns-headers");
            PushPayloadJson.DeepMerge(root, overrides);
        }

        var visible = root["aps"] is JsonObject finalAps && (finalAps.ContainsKey("alert") || finalAps.ContainsKey("sound") || finalAps.ContainsKey("badge"));
        headers.TryAdd("apns-push-type", visible ? "alert" : "background");
        headers.TryAdd("apns-priority", headers["apns-push-type"] == "background" ? "5" : "10");
        headers.TryAdd("apns-expiration", (now + DefaultExpiry).ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture));
        if (!visible && root["aps"] is JsonObject silent && !silent.ContainsKey("content-available"))
        {
            // A background notification reaches the app only with content-available.
            silent["content-available"] = 1;
        }

        return (root.ToJsonString(), headers);
    }
}
