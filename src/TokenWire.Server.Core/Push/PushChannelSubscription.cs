using System.Text.Json;

namespace TokenWire.Server.Push;

/// <summary>A channel's push subscription (Ably's PushChannelSubscription): for one device, or for every device of a clientId.</summary>
public sealed record PushChannelSubscription(string Channel, string? DeviceId, string? ClientId)
{
    /// <summary>Orders subscriptions by channel, then subscriber; unique per subscription (the stores' key and paging cursor).</summary>
    public string Key => string.Concat(Channel, "\n", DeviceId is not null ? "d:" + DeviceId : "c:" + ClientId);

    public static PushChannelSubscription FromKey(string key)
    {
        var split = key.LastIndexOf('\n');
        var channel = key[..split];
        var subscriber = key[(split + 3)..];
        return key[split + 1] == 'd' ? new(channel, subscriber, null) : new(channel, null, subscriber);
    }

    public void Write(Utf8JsonWriter w)
    {
        w.WriteStartObject();
        w.WriteString("channel", Channel);
        if (DeviceId is not null)
        {
            w.WriteString("deviceId", DeviceId);
        }

        if (ClientId is not null)
        {
            w.WriteString("clientId", ClientId);
        }

        w.WriteEndObject();
    }
}
