using System.Text.Json;
using TokenWire.Protocol;
using TokenWire.Server.Push;

namespace TokenWire.Server.Tests.Push;

/// <summary>Ably's device registration and recipient validation: 40000 with the reason, 40015 for the id.</summary>
public sealed class PushRecipientsTests
{
    private const string Web = """{"transportType":"web","targetUrl":"aHR0cHM6Ly9wdXNoLmV4YW1wbGUvc3ViLzE=","publicVapidKey":"BKey","encryptionKey":{"p256dh":"ab+c/d==","auth":"x+y/"}}""";

    [Fact]
    public void A_web_device_as_ably_js_activation_sends_it_is_accepted_with_its_endpoint_decoded_and_keys_made_base64url()
    {
        var device = PushRecipients.ParseDevice(Json($$$"""{"id":"dev1","clientId":"alice","deviceSecret":"s","platform":"browser","formFactor":"desktop","metadata":{"a":1},"push":{"recipient":{{{Web}}}}}"""), null);

        Assert.Equal(("dev1", "alice", "s", "web"), (device.Id, device.ClientId, device.DeviceSecret, device.TransportType));
        Assert.Equal("""{"a":1}""", device.Metadata);
        var (endpoint, p256dh, auth) = PushRecipients.WebTarget(Json(device.Recipient));
        Assert.Equal("https://push.example/sub/1", endpoint.OriginalString);
        Assert.Equal(("ab-c_d", "x-y_"), (p256dh, auth));
    }

    [Theory]
    [InlineData("""{"id":"d","platform":"not_a_real_platform","formFactor":"phone","push":{"recipient":{"transportType":"gcm","registrationToken":"x"}}}""", "platform")]
    [InlineData("""{"id":"d","platform":"android","formFactor":"fridge","push":{"recipient":{"transportType":"gcm","registrationToken":"x"}}}""", "formFactor")]
    [InlineData("""{"id":"d","platform":"android","formFactor":"phone"}""", "push.recipient")]
    [InlineData("""{"id":"d","platform":"android","formFactor":"phone","push":{"recipient":{"transportType":"pigeon"}}}""", "pigeon")]
    [InlineData("""{"id":"d","platform":"android","formFactor":"phone","push":{"recipient":{"transportType":"fcm"}}}""", "registrationToken")]
    [InlineData("""{"id":"d","platform":"ios","formFactor":"phone","push":{"recipient":{"transportType":"apns"}}}""", "deviceToken")]
    [InlineData("""{"id":"d","platform":"browser","formFactor":"desktop","push":{"recipient":{"transportType":"web","targetUrl":"aHR0cHM6Ly94"}}}""", "encryptionKey")]
    [InlineData("""{"id":"d","platform":"browser","formFactor":"desktop","push":{"recipient":{"transportType":"web","targetUrl":"ZnRwOi8veA==","encryptionKey":{"p256dh":"a","auth":"b"}}}}""", "http(s) URL")]
    [InlineData("""{"id":"d","platform":"browser","formFactor":"desktop","push":{"recipient":{"transportType":"ablyChannel","channel":"c","ablyKey":"k"}}}""", "ablyUrl")]
    [InlineData("""{"id":7,"platform":"android","formFactor":"phone","push":{"recipient":{"transportType":"gcm","registrationToken":"x"}}}""", "id must be a string")]
    public void An_invalid_registration_is_refused_with_40000_naming_what_is_wrong(string body, string reason)
    {
        var error = Assert.Throws<ProtocolException>(() => PushRecipients.ParseDevice(Json(body), null)).Error;

        Assert.Equal((ErrorCodes.BadRequest, 400), (error.Code, error.StatusCode));
        Assert.Contains(reason, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_missing_id_or_one_that_disagrees_with_the_path_is_40015()
    {
        const string body = """{"platform":"android","formFactor":"phone","push":{"recipient":{"transportType":"fcm","registrationToken":"x"}}}""";
        Assert.Equal(ErrorCodes.InvalidDeviceId, Assert.Throws<ProtocolException>(() => PushRecipients.ParseDevice(Json(body), null)).Error.Code);
        Assert.Equal("p", PushRecipients.ParseDevice(Json(body), "p").Id);
        Assert.Equal(ErrorCodes.InvalidDeviceId, Assert.Throws<ProtocolException>(() => PushRecipients.ParseDevice(Json(body.Replace("{", """{"id":"q",""", StringComparison.Ordinal)), "p")).Error.Code);
    }

    [Fact]
    public void A_patch_replaces_the_recipient_and_clears_a_failure()
    {
        var device = PushRecipients.ParseDevice(Json($$$"""{"id":"d","platform":"browser","formFactor":"desktop","push":{"recipient":{{{Web}}}}}"""), null)
            with
        { State = "FAILED", Error = new ErrorInfo(ErrorCodes.PushDeviceTokenInvalid, 400, "gone") };

        var patched = PushRecipients.ApplyPatch(device, Json("""{"push":{"recipient":{"transportType":"fcm","registrationToken":"new"}}}"""));

        Assert.Equal(("fcm", "ACTIVE", (ErrorInfo?)null), (patched.TransportType, patched.State, patched.Error));
        Assert.Equal(ErrorCodes.BadRequest, Assert.Throws<ProtocolException>(() => PushRecipients.ApplyPatch(device, Json("""{"push":{"recipient":{"transportType":"fcm"}}}"""))).Error.Code);
    }

    [Fact]
    public void Device_identity_tokens_name_their_app_and_device_and_match_only_the_stored_token()
    {
        var token = DeviceIdentityTokens.Issue("app.1", "dev:ü");
        Assert.True(DeviceIdentityTokens.TryParse(token, out var app, out var device));
        Assert.Equal(("app.1", "dev:ü"), (app, device));

        var registration = PushRegistryConformanceDevice() with { IdentityToken = token, DeviceSecret = "secret" };
        Assert.True(DeviceIdentityTokens.Matches(registration, token));
        Assert.False(DeviceIdentityTokens.Matches(registration, DeviceIdentityTokens.Issue("app.1", "dev:ü")));
        Assert.True(DeviceIdentityTokens.MatchesSecret(registration, "secret"));
        Assert.False(DeviceIdentityTokens.MatchesSecret(registration, "Secret"));
        Assert.False(DeviceIdentityTokens.TryParse("not-a-device-token", out _, out _));
    }

    [Fact]
    public void Web_content_is_the_payload_with_its_web_overrides_and_without_other_platforms()
    {
        var content = WebPushTransport.Content(Json("""{"notification":{"title":"T","body":"B"},"data":{"k":"v"},"apns":{"aps":{}},"fcm":{"x":1},"web":{"notification":{"title":"Web T"}}}"""));

        Assert.Equal("""{"notification":{"title":"Web T"},"data":{"k":"v"}}""", content);
    }

    private static DeviceRegistration PushRegistryConformanceDevice() => new()
    {
        Id = "d",
        Platform = "browser",
        FormFactor = "desktop",
        Recipient = """{"transportType":"web"}""",
    };

    private static JsonElement Json(string json) => JsonDocument.Parse(json).RootElement.Clone();
}
