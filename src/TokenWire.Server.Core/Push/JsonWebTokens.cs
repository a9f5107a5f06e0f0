using System.Buffers.Text;
using System.Text;
using System.Text.Json.Nodes;

namespace TokenWire.Server.Push;

/// <summary>Compact JWS (RFC 7515) for the providers' bearer tokens: base64url header and claims, signed by the caller's key.</summary>
internal static class JsonWebTokens
{
    public static string Create(JsonObject header, JsonObject claims, Func<byte[], byte[]> sign)
    {
        var signingInput = Base64Url.EncodeToString(Encoding.UTF8.GetBytes(header.ToJsonString())) + "." + Base64Url.EncodeToString(Encoding.UTF8.GetBytes(claims.ToJsonString()));
        return signingInput + "." + Base64Url.EncodeToString(sign(Encoding.ASCII.GetBytes(signingInput)));
    }
}
