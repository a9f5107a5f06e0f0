using System.Text.Json;
using TokenWire.Server.Auth;

namespace TokenWire.Server.Rest;

/// <summary>TokenDetails as the SDK expects it: <c>{token, keyName, issued, expires, capability, clientId?}</c>.</summary>
public static class TokenJson
{
    public static void Write(Utf8JsonWriter writer, TokenDetails details)
    {
        writer.WriteStartObject();
        writer.WriteString("token", details.Token);
        writer.WriteString("keyName", details.KeyName);
        writer.WriteNumber("issued", details.Issued);
        writer.WriteNumber("expires", details.Expires);
        writer.WriteString("capability", details.Capability);
        if (details.ClientId is { } clientId)
        {
            writer.WriteString("clientId", clientId);
        }

        writer.WriteEndObject();
    }
}
