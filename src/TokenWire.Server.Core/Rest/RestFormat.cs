using Microsoft.AspNetCore.Http;
using TokenWire.Protocol;

namespace TokenWire.Server.Rest;

/// <summary>Content negotiation (reference §5.1): msgpack when asked for in Accept (or Content-Type for bodies).</summary>
public static class RestFormat
{
    public const string Json = "application/json";
    public const string MessagePack = "application/x-msgpack";

    public static WireFormat ForResponse(HttpRequest request) =>
        request.Headers.Accept.ToString().Contains(MessagePack, StringComparison.OrdinalIgnoreCase) ? WireFormat.MessagePack : WireFormat.Json;

    public static WireFormat ForBody(HttpRequest request) =>
        (request.ContentType ?? string.Empty).Contains(MessagePack, StringComparison.OrdinalIgnoreCase) ? WireFormat.MessagePack : WireFormat.Json;

    public static string ContentType(WireFormat format) => format == WireFormat.MessagePack ? MessagePack : Json;
}
