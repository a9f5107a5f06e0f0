using System.Buffers;
using System.Globalization;
using System.Net;
using System.Text.Json;
using TokenWire.Protocol;
using TokenWire.Protocol.MessagePack;
using MessagePackReader = MessagePack.MessagePackReader;

namespace TokenWire.Client.Internal;

/// <summary>Decodes REST bodies that are not message arrays (time, status, publish results, errors) in either format.</summary>
internal static class RestBodies
{
    public const string JsonContentType = "application/json";
    public const string MessagePackContentType = "application/x-msgpack";

    public static bool IsMessagePack(string? contentType) =>
        contentType is not null && contentType.Contains(MessagePackContentType, StringComparison.OrdinalIgnoreCase);

    /// <summary>Parses a body as JSON, transcoding MessagePack first; null for an empty body.</summary>
    public static JsonElement? Parse(byte[] body, string? contentType)
    {
        if (body.Length == 0)
        {
            return null;
        }

        var json = body;
        if (IsMessagePack(contentType))
        {
            var reader = new MessagePackReader(new ReadOnlySequence<byte>(body));
            json = PayloadTranscoder.MessagePackToJson(ref reader);
        }

        using var document = JsonDocument.Parse(json);
        return document.RootElement.Clone();
    }

    /// <summary>
    /// The Ably error of a failed response: the <c>{ "error": { code, statusCode, message } }</c> body, else the
    /// <c>X-Ably-ErrorCode</c>/<c>X-Ably-ErrorMessage</c> headers, else the HTTP status.
    /// </summary>
    public static ErrorInfo ReadError(HttpStatusCode status, byte[] body, string? contentType, string? codeHeader, string? messageHeader)
    {
        var statusCode = (int)status;
        try
        {
            if (Parse(body, contentType) is { ValueKind: JsonValueKind.Object } root
                && root.TryGetProperty("error", out var error) && error.ValueKind == JsonValueKind.Object)
            {
                var code = GetInt(error, "code") ?? statusCode * 100;
                var errorStatus = GetInt(error, "statusCode") ?? statusCode;
                var message = error.TryGetProperty("message", out var m) && m.ValueKind == JsonValueKind.String ? m.GetString()! : status.ToString();
                return new ErrorInfo(code, errorStatus, message);
            }
        }
        catch (Exception ex) when (ex is JsonException or ProtocolException or MessagePack.MessagePackSerializationException or EndOfStreamException)
        {
            // Not an Ably error body: fall back to the headers.
        }

        if (int.TryParse(codeHeader, NumberStyles.Integer, CultureInfo.InvariantCulture, out var headerCode))
        {
            return new ErrorInfo(headerCode, statusCode, messageHeader is null ? status.ToString() : Uri.UnescapeDataString(messageHeader));
        }

        return new ErrorInfo(statusCode * 100, statusCode, $"HTTP {statusCode} {status}");
    }

    public static int? GetInt(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Number && value.TryGetInt32(out var result) ? result : null;
}
