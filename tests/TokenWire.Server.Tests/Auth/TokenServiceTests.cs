using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using TokenWire.Protocol;
using TokenWire.Server.Auth;
using TokenWire.Server.Configuration;

namespace TokenWire.Server.Tests.Auth;

public sealed class TokenServiceTests
{
    private const string Secret = "app-root-secret";
    private static readonly DateTimeOffset Start = DateTimeOffset.FromUnixTimeMilliseconds(1_795_677_837_077);

    private readonly FakeTimeProvider _time = new(Start);
    private readonly AppRegistry _apps;
    private readonly TokenRevocations _revocations;
    private readonly TokenService _tokens;

    public TokenServiceTests()
    {
        var options = new TokenWireOptions
        {
            Apps =
            [
                new AppOptions
                {
                    Id = "app",
                    Keys =
                    [
                        new KeyOptions { Id = "root", Secret = Secret, Capability = """{"*":["*"]}""" },
                        new KeyOptions { Id = "chat", Secret = "chat-secret", Capability = """{"chat:*":["publish","subscribe"]}""" },
                        new KeyOptions { Id = "rev", Secret = "rev-secret", RevocableTokens = true },
                    ],
                },
                new AppOptions { Id = "other", Keys = [new KeyOptions { Id = "root", Secret = "other-secret" }] },
            ],
        };
        _apps = new AppRegistry(Options.Create(options));
        _revocations = new TokenRevocations(new InMemoryTokenRevocationStore(), _time);
        _tokens = new TokenService(_apps, _revocations, _time);
    }

    private ApiKey Key(string name) => _apps.FindKey(name)!;

    [Fact]
    public void An_issued_token_validates_to_its_app_key_capability_clientId_and_times()
    {
        var details = _tokens.Issue(Key("app.chat"), 60_000, """{"chat:lobby":["*"]}""", "alice");

        var auth = _tokens.Validate(details.Token);

        Assert.StartsWith("tw1.", details.Token, StringComparison.Ordinal);
        Assert.Equal("app", auth.App.Id);
        Assert.Equal("app.chat", auth.Key.Name);
        Assert.Equal("""{"chat:lobby":["publish","subscribe"]}""", auth.Capability.Json);
        Assert.Equal(details.Capability, auth.Capability.Json);
        Assert.Equal("alice", auth.ClientId);
        Assert.Equal(Start, auth.IssuedAt);
        Assert.Equal(Start.AddMinutes(1), auth.ExpiresAt);
        Assert.True(auth.IsToken);
    }

    [Fact]
    public void A_token_is_refused_with_40142_once_it_expires()
    {
        var details = _tokens.Issue(Key("app.root"), 60_000, null, null);
        _time.Advance(TimeSpan.FromSeconds(59));
        _tokens.Validate(details.Token);

        _time.Advance(TimeSpan.FromSeconds(1));

        Assert.Equal(ErrorCodes.TokenExpired, Refusal(details.Token).Code);
    }

    [Fact]
    public void A_tampered_token_or_one_signed_by_another_key_is_unrecognised_40143()
    {
        var token = _tokens.Issue(Key("app.chat"), null, null, "alice").Token;
        var dot = token.LastIndexOf('.');

        // Swap in a payload claiming the root key's rights, keeping the chat key's signature.
        var forged = _tokens.Issue(Key("app.root"), null, null, "alice").Token;
        var mixed = forged[..forged.LastIndexOf('.')] + token[dot..];

        Assert.Equal(40143, Refusal(mixed).Code);
        Assert.Equal(40143, Refusal(token[..^2] + (token[^2] == 'A' ? "BA" : "AA")).Code);
        Assert.Equal(40143, Refusal("tw1.").Code);
        Assert.Equal(40143, Refusal("tw1.!!!.???").Code);
    }

    [Theory]
    [InlineData(0L)]
    [InlineData(-1L)]
    [InlineData(86_400_001L)]
    [InlineData(long.MaxValue)]
    [InlineData(long.MinValue)]
    public void A_ttl_outside_one_ms_to_a_day_is_refused_with_40003(long ttl)
    {
        var ex = Assert.Throws<ProtocolException>(() => _tokens.Issue(Key("app.root"), ttl, null, null));

        Assert.Equal(ErrorCodes.InvalidParameterValue, ex.Error.Code);
    }

    [Fact]
    public void An_invalid_capability_is_400_and_an_empty_intersection_is_401_40160()
    {
        var invalid = Assert.Throws<ProtocolException>(() => _tokens.Issue(Key("app.chat"), null, """{"chat:x":["fly"]}""", null));
        var empty = Assert.Throws<ProtocolException>(() => _tokens.Issue(Key("app.chat"), null, """{"news":["publish"]}""", null));

        Assert.Equal((40000, 400), (invalid.Error.Code, invalid.Error.StatusCode));
        Assert.Equal((40160, 401), (empty.Error.Code, empty.Error.StatusCode));
    }

    [Fact]
    public void A_signed_token_request_is_exchanged_once_then_its_nonce_is_refused_with_40105()
    {
        var request = SignedRequest("app.root", Secret, Start.ToUnixTimeMilliseconds(), "nonce-1", clientId: "bob");

        var details = _tokens.IssueFromRequest(request);
        var replay = Assert.Throws<ProtocolException>(() => _tokens.IssueFromRequest(request));

        Assert.Equal("bob", _tokens.Validate(details.Token).ClientId);
        Assert.Equal(40105, replay.Error.Code);
    }

    [Theory]
    [InlineData(-600_001L)]
    [InlineData(600_001L)]
    [InlineData(long.MinValue / 2)]
    [InlineData(long.MaxValue / 2)]
    public void A_token_request_outside_the_ten_minute_window_is_refused_with_40104(long offsetMs)
    {
        var request = SignedRequest("app.root", Secret, Start.ToUnixTimeMilliseconds() + offsetMs, "n");

        Assert.Equal(40104, Assert.Throws<ProtocolException>(() => _tokens.IssueFromRequest(request)).Error.Code);
    }

    [Theory]
    [InlineData(long.MinValue)]
    [InlineData(long.MaxValue)]
    public void Extreme_token_request_timestamps_are_refused_with_40104_not_an_overflow(long timestamp)
    {
        var request = SignedRequest("app.root", Secret, timestamp, "n");

        Assert.Equal(40104, Assert.Throws<ProtocolException>(() => _tokens.IssueFromRequest(request)).Error.Code);
    }

    [Fact]
    public void A_token_request_with_a_wrong_or_malformed_mac_is_40101_and_an_unknown_key_is_40400()
    {
        var wrong = SignedRequest("app.root", "not-the-secret", Start.ToUnixTimeMilliseconds(), "n");
        var malformed = wrong with { Mac = "%%%" };
        var unknown = SignedRequest("app.nope", Secret, Start.ToUnixTimeMilliseconds(), "n");

        Assert.Equal(40101, Assert.Throws<ProtocolException>(() => _tokens.IssueFromRequest(wrong)).Error.Code);
        Assert.Equal(40101, Assert.Throws<ProtocolException>(() => _tokens.IssueFromRequest(malformed)).Error.Code);
        Assert.Equal(40400, Assert.Throws<ProtocolException>(() => _tokens.IssueFromRequest(unknown)).Error.Code);
    }

    [Fact]
    public void An_ably_jwt_validates_with_its_capability_intersected_with_the_key_and_its_clientId()
    {
        var jwt = Jwt(new { iat = Start.ToUnixTimeSeconds(), exp = Start.ToUnixTimeSeconds() + 600, x_ably_capability = """{"chat:*":["*"],"news":["*"]}""", x_ably_clientId = "jo" }, kid: "app.chat", secret: "chat-secret");

        var auth = _tokens.Validate(jwt);

        Assert.Equal("app.chat", auth.Key.Name);
        Assert.Equal("""{"chat:*":["publish","subscribe"]}""", auth.Capability.Json);
        Assert.Equal("jo", auth.ClientId);
        Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(Start.ToUnixTimeSeconds() + 600), auth.ExpiresAt);
    }

    public static TheoryData<string, string, int> BadJwts()
    {
        var now = Start.ToUnixTimeSeconds();
        var claims = new { iat = now, exp = now + 600, x_ably_capability = """{"*":["*"]}""" };
        var good = Jwt(claims);
        var parts = good.Split('.');
        return new TheoryData<string, string, int>
        {
            { "bad signature", Jwt(claims, secret: "not-the-secret"), 40144 },
            { "signature of another message", parts[0] + "." + Segment(new { iat = now, exp = now + 9999 }) + "." + parts[2], 40144 },
            { "alg none, no signature", Segment(new { typ = "JWT", alg = "none", kid = "app.root" }) + "." + parts[1] + ".", 40144 },
            { "alg none with the real signature", Segment(new { typ = "JWT", alg = "none", kid = "app.root" }) + "." + parts[1] + "." + parts[2], 40144 },
            { "alg HS512", Jwt(claims, alg: "HS512"), 40144 },
            { "alg RS256", Jwt(claims, alg: "RS256"), 40144 },
            { "expired", Jwt(new { iat = now - 700, exp = now - 100 }), 40142 },
            { "no exp", Jwt(new { iat = now }), 40144 },
            { "exp as a string", Jwt(new { iat = now, exp = "soon" }), 40144 },
            { "exp beyond the calendar", Jwt(new { iat = now, exp = long.MaxValue }), 40144 },
            { "wrong kid: a key of another app", Jwt(claims, kid: "other.root"), 40144 },
            { "unknown kid", Jwt(claims, kid: "nope.nope"), 40400 },
            { "kid not a string", Segment(new { typ = "JWT", alg = "HS256", kid = 7 }) + "." + parts[1] + "." + parts[2], 40400 },
            { "invalid capability", Jwt(new { iat = now, exp = now + 60, x_ably_capability = """{"*":["fly"]}""" }), 40144 },
            { "header not JSON", "bm90IGpzb24." + parts[1] + "." + parts[2], 40144 },
            { "header a JSON array", Segment(new[] { 1 }) + "." + parts[1] + "." + parts[2], 40144 },
            { "not base64url", "!!!." + parts[1] + "." + parts[2], 40144 },
            { "two parts", parts[0] + "." + parts[1], 40143 },
            { "four parts", good + ".x", 40143 },
            { "empty", string.Empty, 40143 },
        };
    }

    [Theory]
    [MemberData(nameof(BadJwts))]
    public void A_bad_jwt_is_refused_with_the_ably_code(string what, string jwt, int code)
    {
        Assert.True(code == Refusal(jwt).Code, what);
    }

    [Fact]
    public void Revoking_a_clientId_refuses_its_older_tokens_with_40141_and_leaves_others_and_newer_tokens_alone()
    {
        var key = Key("app.rev");
        var victim = _tokens.Issue(key, null, null, "victim").Token;
        var bystander = _tokens.Issue(key, null, null, "bystander").Token;
        var jwt = Jwt(new { iat = Start.ToUnixTimeSeconds() - 1, exp = Start.ToUnixTimeSeconds() + 600, x_ably_clientId = "victim" }, kid: "app.rev", secret: "rev-secret");
        _time.Advance(TimeSpan.FromSeconds(1));

        Revoke(key, RevocationTarget.ClientId, "victim", _time.GetUtcNow().ToUnixTimeMilliseconds(), _time.GetUtcNow().ToUnixTimeMilliseconds());
        var renewed = _tokens.Issue(key, null, null, "victim").Token;

        Assert.Equal(ErrorCodes.TokenRevoked, Refusal(victim).Code);
        Assert.Equal(ErrorCodes.TokenRevoked, Refusal(jwt).Code);
        Assert.Equal("bystander", _tokens.Validate(bystander).ClientId);
        Assert.Equal("victim", _tokens.Validate(renewed).ClientId);
    }

    [Fact]
    public void A_revocation_with_a_reauth_margin_applies_only_once_the_margin_ends()
    {
        var key = Key("app.rev");
        var token = _tokens.Issue(key, null, null, "slow").Token;
        _time.Advance(TimeSpan.FromMilliseconds(1));
        var now = _time.GetUtcNow().ToUnixTimeMilliseconds();

        Revoke(key, RevocationTarget.ClientId, "slow", now, now + (long)TokenRevocations.ReauthMargin.TotalMilliseconds);

        Assert.True(_revocations.Covers(_tokens.Validate(token)));
        _time.Advance(TokenRevocations.ReauthMargin);
        Assert.Equal(ErrorCodes.TokenRevoked, Refusal(token).Code);
    }

    [Fact]
    public void Revocation_is_ignored_for_keys_without_revocable_tokens_and_for_key_auth()
    {
        var key = Key("app.root");
        var token = _tokens.Issue(key, null, null, "someone").Token;
        _time.Advance(TimeSpan.FromSeconds(1));

        Revoke(key, RevocationTarget.ClientId, "someone", _time.GetUtcNow().ToUnixTimeMilliseconds(), 0);

        Assert.Equal("someone", _tokens.Validate(token).ClientId);
        Assert.False(_revocations.IsRevoked(new AuthContext(_apps.FindApp("app")!, Key("app.rev"), Capability.All, "someone")));
    }

    [Fact]
    public void Revoking_a_revocation_key_refuses_the_older_jwts_carrying_it_whatever_their_clientId()
    {
        var key = Key("app.rev");
        var now = Start.ToUnixTimeSeconds();
        string RevocableJwt(string? revocationKey, string clientId) => Jwt(
            new Dictionary<string, object?> { ["iat"] = now, ["exp"] = now + 600, ["x-ably-clientId"] = clientId, ["x-ably-revocation-key"] = revocationKey },
            kid: "app.rev",
            secret: "rev-secret");
        var groupA = RevocableJwt("group-a", "ann");
        var groupA2 = RevocableJwt("group-a", "bob");
        var groupB = RevocableJwt("group-b", "ann");
        var none = RevocableJwt(null, "ann");
        var ownToken = _tokens.Issue(key, null, null, "ann").Token;
        _time.Advance(TimeSpan.FromSeconds(1));

        Revoke(key, RevocationTarget.RevocationKey, "group-a", _time.GetUtcNow().ToUnixTimeMilliseconds(), _time.GetUtcNow().ToUnixTimeMilliseconds());

        Assert.Equal(ErrorCodes.TokenRevoked, Refusal(groupA).Code);
        Assert.Equal(ErrorCodes.TokenRevoked, Refusal(groupA2).Code);
        Assert.Equal("group-b", _tokens.Validate(groupB).RevocationKey);
        Assert.Null(_tokens.Validate(none).RevocationKey);
        Assert.Null(_tokens.Validate(ownToken).RevocationKey);
    }

    [Fact]
    public async Task A_narrower_revocation_does_not_undo_a_wider_one_and_the_store_reports_each_change_once()
    {
        var store = new InMemoryTokenRevocationStore();
        var changes = new List<TokenRevocation>();
        store.Revoked += changes.Add;
        var target = new RevocationTarget("app.rev", RevocationTarget.ClientId, "x");

        var wide = await store.RevokeAsync(new TokenRevocation(target, 2000, 2000));
        var narrower = await store.RevokeAsync(new TokenRevocation(target, 1000, 1000));
        var again = await store.RevokeAsync(new TokenRevocation(target, 2000, 2000));

        Assert.Equal(new TokenRevocation(target, 2000, 2000), wide);
        Assert.Equal(wide, narrower);
        Assert.Equal(wide, again);
        Assert.Equal([wide], changes);
    }

    [Fact]
    public void Mutated_tokens_and_correctly_signed_jwts_with_mutated_claims_are_only_ever_refused_with_4xxxx()
    {
        var now = Start.ToUnixTimeSeconds();
        var header = Encoding.UTF8.GetBytes("""{"typ":"JWT","alg":"HS256","kid":"app.root"}""");
        var claims = Encoding.UTF8.GetBytes($$"""{"iat":{{now}},"exp":{{now + 600}},"x-ably-capability":"{\"chat:*\":[\"publish\"]}","x-ably-clientId":"jo"}""");
        string[] tokens = [_tokens.Issue(Key("app.chat"), null, null, "jo").Token, Jwt(new { iat = now, exp = now + 600 })];
        var mutator = new Protocol.Tests.Fuzzing.FrameMutator(4242);
        var random = new Random(4242);
        var failures = new List<string>();
        for (var i = 0; i < 20_000; i++)
        {
            // Half are garbage tokens; half are JWTs whose header or claims are mutated and then signed with the key,
            // which reaches the claim parsing that a bad signature never gets to.
            string token;
            if (i % 2 == 0)
            {
                token = Encoding.UTF8.GetString(mutator.Mutate(Encoding.UTF8.GetBytes(tokens[random.Next(tokens.Length)]), WireFormat.Json));
            }
            else
            {
                var mutateHeader = random.Next(4) == 0;
                var body = WebEncoders.Base64UrlEncode(mutateHeader ? mutator.Mutate(header, WireFormat.Json) : header) + "."
                    + WebEncoders.Base64UrlEncode(mutateHeader ? claims : mutator.Mutate(claims, WireFormat.Json));
                token = body + "." + WebEncoders.Base64UrlEncode(HMACSHA256.HashData(Encoding.UTF8.GetBytes(Secret), Encoding.ASCII.GetBytes(body)));
            }

            try
            {
                _tokens.Validate(token);
            }
            catch (ProtocolException ex) when (ex.Error.Code is >= 40000 and < 50000)
            {
            }
            catch (Exception ex)
            {
                failures.Add($"{token}: {ex.GetType().Name}: {ex.Message}");
            }
        }

        Assert.True(failures.Count == 0, $"{failures.Count} tokens misbehaved:\n{string.Join('\n', failures.Take(10))}");
    }

    private ErrorInfo Refusal(string token) => Assert.Throws<ProtocolException>(() => _tokens.Validate(token)).Error;

    private static TokenRequest SignedRequest(string keyName, string secret, long timestamp, string nonce, string? clientId = null) =>
        new(keyName, null, null, clientId, timestamp, nonce, TokenRequest.ComputeMac(secret, keyName, null, null, clientId, timestamp, nonce));

    /// <summary>An Ably JWT; claim names use '_' for '-' (x_ably_capability → x-ably-capability).</summary>
    private void Revoke(ApiKey key, string type, string value, long issuedBefore, long appliesAt) =>
        _revocations.RevokeAsync(new TokenRevocation(new RevocationTarget(key.Name, type, value), issuedBefore, appliesAt)).AsTask().GetAwaiter().GetResult();

    private static string Jwt(object claims, string kid = "app.root", string secret = Secret, string alg = "HS256")
    {
        var body = Segment(new { typ = "JWT", alg, kid }) + "." + Segment(claims);
        return body + "." + WebEncoders.Base64UrlEncode(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), Encoding.ASCII.GetBytes(body)));
    }

    private static string Segment(object value) =>
        WebEncoders.Base64UrlEncode(Encoding.UTF8.GetBytes(JsonSerializer.Serialize(value).Replace("x_ably_", "x-ably-", StringComparison.Ordinal)));
}
