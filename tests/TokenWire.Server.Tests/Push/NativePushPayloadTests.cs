using System.Text.Json;
using System.Text.Json.Nodes;
using TokenWire.Server.Push;

namespace TokenWire.Server.Tests.Push;

/// <summary>Ably's push payload as APNs and FCM v1 take it, with each platform's override object laid over.</summary>
public sealed class NativePushPayloadTests
{
    private static readonly DateTimeOffset Now = DateTimeOffset.FromUnixTimeSeconds(1_800_000_000);

    [Fact]
    public void Apns_gets_aps_alert_sound_badge_and_thread_id_with_data_at_the_root_and_icon_dropped()
    {
        var (body, headers) = ApnsPayload.Build(Json("""
            {"notification":{"title":"T","body":"B","icon":"i","sound":"s.caf","badge":2,"collapseKey":"k"},"data":{"id":"r1","n":3},"fcm":{"x":1},"web":{"y":2}}
            """), Now);

        AssertJson("""{"id":"r1","n":3,"aps":{"alert":{"title":"T","body":"B"},"sound":"s.caf","badge":2,"thread-id":"k"}}""", body);
        Assert.Equal("alert", headers["apns-push-type"]);
        Assert.Equal("10", headers["apns-priority"]);
        Assert.Equal((Now.ToUnixTimeSeconds() + 86_400).ToString(System.Globalization.CultureInfo.InvariantCulture), headers["apns-expiration"]);
    }

    [Fact]
    public void Apns_overrides_merge_into_the_payload_and_apns_headers_become_request_headers()
    {
        var (body, headers) = ApnsPayload.Build(Json("""
            {"notification":{"title":"T"},"apns":{"aps":{"alert":{"subtitle":"S"},"category":"c"},"extra":true,"apns-headers":{"apns-priority":"5","apns-expiration":0,"apns-collapse-id":"c1"}}}
            """), Now);

        AssertJson("""{"aps":{"alert":{"title":"T","subtitle":"S"},"category":"c"},"extra":true}""", body);
        Assert.Equal(("alert", "5", "0", "c1"), (headers["apns-push-type"], headers["apns-priority"], headers["apns-expiration"], headers["apns-collapse-id"]));
    }

    [Fact]
    public void A_data_only_notification_is_a_background_push_at_priority_5_with_content_available()
    {
        var (body, headers) = ApnsPayload.Build(Json("""{"data":{"k":"v"}}"""), Now);

        AssertJson("""{"k":"v","aps":{"content-available":1}}""", body);
        Assert.Equal(("background", "5"), (headers["apns-push-type"], headers["apns-priority"]));
    }

    [Fact]
    public void Fcm_gets_notification_string_data_and_android_icon_sound_collapse_key_with_badge_dropped()
    {
        var body = FcmPayload.Build(Json("""
            {"notification":{"title":"T","body":"B","icon":"i","sound":"s","badge":2,"collapseKey":"k"},"data":{"id":"r1","n":3,"ok":true,"o":{"a":1}},"apns":{"x":1}}
            """), "tok");

        AssertJson("""
            {"message":{"token":"tok","notification":{"title":"T","body":"B"},"data":{"id":"r1","n":"3","ok":"true","o":"{\"a\":1}"},
             "android":{"notification":{"icon":"i","sound":"s"},"collapse_key":"k"}}}
            """, body);
    }

    [Fact]
    public void Fcm_overrides_merge_into_the_message_but_cannot_change_its_token()
    {
        var body = FcmPayload.Build(Json("""
            {"notification":{"title":"T","icon":"i"},"fcm":{"notification":{"title":"F"},"android":{"priority":"high","notification":{"color":"#fff"}},"token":"other"}}
            """), "tok");

        AssertJson("""
            {"message":{"token":"tok","notification":{"title":"F"},"android":{"notification":{"icon":"i","color":"#fff"},"priority":"high"}}}
            """, body);
    }

    private static JsonElement Json(string text) => JsonDocument.Parse(text).RootElement.Clone();

    private static void AssertJson(string expected, string actual) =>
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse(expected), JsonNode.Parse(actual)), $"expected {expected}\n  actual {actual}");
}
