using System.Buffers.Text;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Time.Testing;
using TokenWire.Server.Configuration;
using TokenWire.Server.Push;

namespace TokenWire.Server.Tests.Push;

/// <summary>The providers' credentials: loading and refusing them, APNs provider tokens and FCM access tokens, each signed and cached.</summary>
public sealed class NativePushCredentialsTests
{
    [Fact]
    public void An_apns_provider_token_is_an_es256_jwt_reused_until_it_is_50_minutes_old()
    {
        using var ec = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var credentials = ApnsCredentials.Load(new ApnsOptions { Key = ec.ExportPkcs8PrivateKeyPem(), KeyId = "KID", TeamId = "TEAM", BundleId = "b" })!;
        var time = new FakeTimeProvider(DateTimeOffset.FromUnixTimeSeconds(1_800_000_000));
        var tokens = new ApnsProviderTokens(credentials, time);

        var first = tokens.Current();
        var (header, claims) = Verify(first, data => ec.VerifyData(data.Input, data.Signature, HashAlgorithmName.SHA256));
        Assert.Equal(("ES256", "KID"), ((string?)header["alg"], (string?)header["kid"]));
        Assert.Equal(("TEAM", 1_800_000_000L), ((string?)claims["iss"], (long)claims["iat"]!));

        time.Advance(TimeSpan.FromMinutes(49));
        Assert.Same(first, tokens.Current());
        time.Advance(TimeSpan.FromMinutes(1));
        var second = tokens.Current();
        Assert.NotEqual(first, second);
        Assert.Equal(1_800_000_000L + 3000, (long)Verify(second, _ => true).Claims["iat"]!);

        tokens.Invalidate(second);
        Assert.NotSame(second, tokens.Current());
    }

    [Fact]
    public async Task An_fcm_access_token_is_exchanged_once_with_an_rs256_assertion_and_reused_until_5_minutes_before_expiry()
    {
        using var rsa = RSA.Create(2048);
        using var account = FcmServiceAccount.Load(new FcmOptions { ServiceAccountJson = ServiceAccount(rsa) })!;
        var time = new FakeTimeProvider(DateTimeOffset.FromUnixTimeSeconds(1_800_000_000));
        var handler = new TokenEndpoint(rsa);
        using var http = new HttpClient(handler);
        using var tokens = new FcmAccessTokens(account, http, time);

        var concurrent = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => tokens.GetAsync(CancellationToken.None).AsTask()));
        Assert.All(concurrent, t => Assert.Equal("access-1", t));
        Assert.Equal(1, handler.Exchanges);
        Assert.Equal("https://oauth2.example/token", (string?)handler.LastClaims!["aud"]);
        Assert.Equal(FcmAccessTokens.Scope, (string?)handler.LastClaims["scope"]);
        Assert.Equal("push@p.iam.example", (string?)handler.LastClaims["iss"]);

        time.Advance(TimeSpan.FromSeconds(3600 - 301));
        Assert.Equal("access-1", await tokens.GetAsync(CancellationToken.None));
        time.Advance(TimeSpan.FromSeconds(2));
        Assert.Equal("access-2", await tokens.GetAsync(CancellationToken.None));
        tokens.Invalidate("access-2");
        Assert.Equal("access-3", await tokens.GetAsync(CancellationToken.None));
        Assert.Equal(3, handler.Exchanges);
    }

    [Theory]
    [InlineData("KeyId", "Push:Apns is incomplete: set KeyPath (or Key), TeamId, BundleId")]
    [InlineData("Key", "not a PEM PKCS#8 EC private key")]
    public void Unusable_apns_settings_are_refused_naming_the_setting(string given, string message)
    {
        var options = given == "KeyId" ? new ApnsOptions { KeyId = "K" } : new ApnsOptions { Key = "not a key", KeyId = "K", TeamId = "T", BundleId = "b" };

        Assert.Contains(message, Assert.Throws<PushConfigurationException>(() => ApnsCredentials.Load(options)).Message, StringComparison.Ordinal);
        Assert.Null(ApnsCredentials.Load(new ApnsOptions()));
    }

    [Fact]
    public void Unusable_fcm_accounts_are_refused_naming_what_is_missing()
    {
        Assert.Contains("not JSON", Assert.Throws<PushConfigurationException>(() => FcmServiceAccount.Load(new FcmOptions { ServiceAccountJson = "{" })).Message, StringComparison.Ordinal);
        Assert.Contains("needs client_email", Assert.Throws<PushConfigurationException>(() => FcmServiceAccount.Load(new FcmOptions { ServiceAccountJson = """{"project_id":"p"}""" })).Message, StringComparison.Ordinal);
        Assert.Contains("cannot read", Assert.Throws<PushConfigurationException>(() => FcmServiceAccount.Load(new FcmOptions { ServiceAccountPath = "/nonexistent/sa.json" })).Message, StringComparison.Ordinal);
        Assert.Null(FcmServiceAccount.Load(new FcmOptions()));
    }

    [Fact]
    public void A_vapid_private_key_missing_its_leading_zero_byte_is_padded_and_bad_keys_are_refused()
    {
        // Find a key whose private scalar starts with a zero byte, as some generators then drop it.
        ECParameters parameters;
        do
        {
            using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            parameters = key.ExportParameters(includePrivateParameters: true);
        }
        while (parameters.D![0] != 0);

        var vapid = new VapidOptions
        {
            Subject = "mailto:ops@example.com",
            PublicKey = Base64Url.EncodeToString([4, .. parameters.Q.X!, .. parameters.Q.Y!]),
            PrivateKey = Base64Url.EncodeToString(parameters.D[1..]),
        };
        VapidKeys.Normalize(vapid);
        Assert.Equal(Base64Url.EncodeToString(parameters.D), vapid.PrivateKey);
        Assert.Null(VapidKeys.Validate(vapid));

        Assert.Contains("PrivateKey must be", VapidKeys.Validate(new VapidOptions { Subject = vapid.Subject, PublicKey = vapid.PublicKey, PrivateKey = "AAAA" }), StringComparison.Ordinal);
        Assert.Contains("PublicKey must be", VapidKeys.Validate(new VapidOptions { Subject = vapid.Subject, PublicKey = "AAAA", PrivateKey = vapid.PrivateKey }), StringComparison.Ordinal);
        Assert.Contains("Subject must be", VapidKeys.Validate(new VapidOptions { Subject = "ops@example.com", PublicKey = vapid.PublicKey, PrivateKey = vapid.PrivateKey }), StringComparison.Ordinal);
        Assert.Contains("incomplete", VapidKeys.Validate(new VapidOptions { PublicKey = vapid.PublicKey }), StringComparison.Ordinal);
        using var other = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        Assert.NotNull(VapidKeys.Validate(new VapidOptions { Subject = vapid.Subject, PublicKey = vapid.PublicKey, PrivateKey = Base64Url.EncodeToString(other.ExportParameters(true).D!) }));
        Assert.Null(VapidKeys.Validate(new VapidOptions()));
    }

    [Fact]
    public void Backoff_doubles_from_the_initial_delay_up_to_the_cap_jittered_between_half_and_all_of_it()
    {
        var retry = new PushRetryOptions { InitialBackoff = TimeSpan.FromSeconds(1), MaxBackoff = TimeSpan.FromSeconds(5) };

        Assert.Equal(TimeSpan.FromSeconds(0.5), PushBackoff.Delay(retry, 1, random: 0));
        Assert.Equal(TimeSpan.FromSeconds(1), PushBackoff.Delay(retry, 1, random: 1));
        Assert.Equal(TimeSpan.FromSeconds(4), PushBackoff.Delay(retry, 3, random: 1));
        Assert.Equal(TimeSpan.FromSeconds(5), PushBackoff.Delay(retry, 4, random: 1));
        Assert.Equal(TimeSpan.FromSeconds(2.5), PushBackoff.Delay(retry, 40, random: 0));
    }

    private static (JsonObject Header, JsonObject Claims) Verify(string jwt, Func<(byte[] Input, byte[] Signature), bool> verify)
    {
        var parts = jwt.Split('.');
        Assert.Equal(3, parts.Length);
        Assert.True(verify((Encoding.ASCII.GetBytes(parts[0] + "." + parts[1]), Base64Url.DecodeFromChars(parts[2]))), "the signature verifies with the public key");
        return ((JsonObject)JsonNode.Parse(Base64Url.DecodeFromChars(parts[0]))!, (JsonObject)JsonNode.Parse(Base64Url.DecodeFromChars(parts[1]))!);
    }

    private static string ServiceAccount(RSA rsa) => new JsonObject
    {
        ["type"] = "service_account",
        ["project_id"] = "p",
        ["private_key_id"] = "kid-1",
        ["private_key"] = rsa.ExportPkcs8PrivateKeyPem(),
        ["client_email"] = "push@p.iam.example",
        ["token_uri"] = "https://oauth2.example/token",
    }.ToJsonString();

    /// <summary>An OAuth2 token endpoint: checks the JWT bearer grant's assertion and issues access-1, access-2, … valid for an hour.</summary>
    private sealed class TokenEndpoint(RSA key) : HttpMessageHandler
    {
        private int _exchanges;

        public int Exchanges => _exchanges;

        public JsonObject? LastClaims { get; private set; }

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var form = (await request.Content!.ReadAsStringAsync(cancellationToken)).Split('&').Select(p => p.Split('=')).ToDictionary(p => p[0], p => Uri.UnescapeDataString(p[1]));
            Assert.Equal("urn:ietf:params:oauth:grant-type:jwt-bearer", form["grant_type"]);
            var (header, claims) = Verify(form["assertion"], data => key.VerifyData(data.Input, data.Signature, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1));
            Assert.Equal(("RS256", "kid-1"), ((string?)header["alg"], (string?)header["kid"]));
            LastClaims = claims;
            await Task.Yield();
            var n = Interlocked.Increment(ref _exchanges);
            return new HttpResponseMessage(HttpStatusCode.OK) { Content = new StringContent($$"""{"access_token":"access-{{n}}","expires_in":3600,"token_type":"Bearer"}""") };
        }
    }
}
