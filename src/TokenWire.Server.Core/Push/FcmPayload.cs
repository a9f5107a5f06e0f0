using System.Text.Json;
using System.Text.Json.Nodes;

namespace TokenWire.Server.Push;

/// <summary>
/// Ably's push payload as an FCM HTTP v1 <c>message</c> for one registration token: <c>notification.title</c>/<c>body</c>
/// → <c>notification</c>, <c>icon</c>/<c>sound</c> → <c>android.notification</c>, <c>collapseKey</c> →
/// <c>android.collapse_key</c>, <c>badge</c> dropped, <c>data</c> → <c>data</c> (values as strings, which v1
/// requires); then the <c>fcm</c> object laid over the message.
/// </summary>
public static class FcmPayload
{
    public static string Build(JsonElement payload, string registrationToken)
    {
        var message = new JsonObject { ["token"] = registrationToken };
        var notification = PushPayloadJson.Object(payload, "notification");
        var visible = new JsonObject();
        foreach (var name in (string[])["title", "body"])
        {
            if (PushPayloadJson.Value(notification, name) is { } value)
            {
                visible[name] = value;
            }
        }

        if (visible.Count > 0)
        {
            message["notification"] = visible;
        }

        if (PushPayloadJson.Object(payload, "data") is { } data)
        {
            var strings = new JsonObject();
            foreach (var (name, value) in data)
            {
                if (value is not null)
                {
                    strings[name] = PushPayloadJson.AsString(value);
                }
            }

            message["data"] = strings;
        }

        var android = new JsonObject();
        var androidNotification = new JsonObject();
        foreach (var name in (string[])["icon", "sound"])
        {
            if (PushPayloadJson.Value(notification, name) is { } value)
            {
                androidNotification[name] = value;
            }
        }

        if (androidNotification.Count > 0)
        {
            android["notification"] = androidNotification;
        }

        if (PushPayloadJson.Value(notification, "collapseKey") is { } collapseKey)
        {
            android["collapse_key"] = collapseKey;
        }

        if (android.Count > 0)
        {
            message["android"] = android;
        }

        if (PushPayloadJson.Object(payload, "fcm") is { } overrides)
        {
            PushPayloadJson.DeepMerge(message, overrides);
        }

        message["token"] = registrationToken;
        return new JsonObject { ["message"] = message }.ToJsonString();
    }
}
