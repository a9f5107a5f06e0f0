using System.Text.Json;
using TokenWire.Protocol;
using TokenWire.Server.Auth;

namespace TokenWire.Server.Tests.Auth;

public sealed class TokenRequestTests
{
    [Fact]
    public void Mac_matches_the_captured_ably_js_token_request()
    {
        // Captured from ably-js 2.28 (reference §5.7), signed with the secret "secret".
        var mac = TokenRequest.ComputeMac("secret", "appid.keyid", ttl: null, capability: null, clientId: "bob", timestamp: 1795677837077, nonce: "4585052781751962");

        Assert.Equal("i51sFoPyMCz3YJnT1tIUnpwGf67rS9QjC/aNvoirI+A=", mac);
    }

    [Theory]
    // Six fields, each followed by a newline, absent ones as empty strings.
    [InlineData("k.1", null, null, null, 0L, "n", "k.1\n\n\n\n0\nn\n")]
    [InlineData("app.key", 3600000L, """{"*":["*"]}""", "client", 1700000000000L, "abc", "app.key\n3600000\n{\"*\":[\"*\"]}\nclient\n1700000000000\nabc\n")]
    [InlineData("a.b", 1000L, null, "ü😀", 5L, "x y", "a.b\n1000\n\nü😀\n5\nx y\n")]
    public void Signed_text_is_the_six_fields_each_followed_by_a_newline(string keyName, long? ttl, string? capability, string? clientId, long timestamp, string nonce, string expected)
    {
        Assert.Equal(expected, TokenRequest.SignedText(keyName, ttl, capability, clientId, timestamp, nonce));
    }

    [Fact]
    public void Mac_signs_the_capability_exactly_as_sent()
    {
        var compact = TokenRequest.ComputeMac("s", "a.b", null, """{"x":["publish"]}""", null, 1, "n");
        var spaced = TokenRequest.ComputeMac("s", "a.b", null, """{ "x": ["publish"] }""", null, 1, "n");

        Assert.NotEqual(compact, spaced);
    }

    [Fact]
    public void Parse_reads_every_field_and_ignores_unknown_ones()
    {
        using var doc = JsonDocument.Parse("""
            {"keyName":"a.b","ttl":1000,"capability":"{\"*\":[\"*\"]}","clientId":"c","timestamp":42,"nonce":"n","mac":"m","extra":[1]}
            """);

        var request = TokenRequest.Parse(doc.RootElement);

        Assert.Equal(new TokenRequest("a.b", 1000, """{"*":["*"]}""", "c", 42, "n", "m"), request);
    }

    [Theory]
    [InlineData("""[]""")]
    [InlineData("""{"timestamp":1,"nonce":"n","mac":"m"}""")]
    [InlineData("""{"keyName":"a.b","nonce":"n","mac":"m"}""")]
    [InlineData("""{"keyName":"a.b","timestamp":"1","nonce":"n","mac":"m"}""")]
    [InlineData("""{"keyName":"a.b","timestamp":1,"mac":"m"}""")]
    [InlineData("""{"keyName":"a.b","timestamp":1,"nonce":"n"}""")]
    [InlineData("""{"keyName":7,"timestamp":1,"nonce":"n","mac":"m"}""")]
    [InlineData("""{"keyName":"a.b","timestamp":1e400,"nonce":"n","mac":"m"}""")]
    public void Parse_refuses_a_request_missing_a_required_field_with_40001(string json)
    {
        using var doc = JsonDocument.Parse(json);

        var ex = Assert.Throws<ProtocolException>(() => TokenRequest.Parse(doc.RootElement));

        Assert.Equal(ErrorCodes.InvalidRequestBody, ex.Error.Code);
    }
}
