using System.Buffers;
using System.IO.Pipelines;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using TokenWire.Protocol;
using TokenWire.Protocol.Json;
using TokenWire.Protocol.MessagePack;
using TokenWire.Server.Auth;
using MessagePackReader = global::MessagePack.MessagePackReader;

namespace TokenWire.Server.Rest;

/// <summary>
/// Request bodies, read with a size bound so a client cannot make the server buffer more than it would ever accept.
/// Control bodies (TokenRequest, revokeTokens, sandbox apps) may come as JSON or msgpack: ably-js encodes them in its
/// configured format, so msgpack is transcoded to JSON and parsed once.
/// </summary>
public static class RestBody
{
    /// <summary>Reads the whole body, refusing more than <paramref name="max"/> bytes (40009) without buffering it.</summary>
    public static async Task<byte[]> ReadAsync(HttpRequest request, int max, CancellationToken cancellationToken)
    {
        var reader = request.BodyReader;
        while (true)
        {
            var result = await reader.ReadAsync(cancellationToken);
            if (result.Buffer.Length > max)
            {
                reader.AdvanceTo(result.Buffer.Start, result.Buffer.End);
                throw new ProtocolException(ErrorCodes.MessageTooLarge, $"Request body larger than {max} bytes");
            }

            if (result.IsCompleted)
            {
                var bytes = result.Buffer.ToArray();
                reader.AdvanceTo(result.Buffer.End);
                return bytes;
            }

            reader.AdvanceTo(result.Buffer.Start, result.Buffer.End);
        }
    }

    /// <summary>The body as a JSON value (<c>default</c> when empty); malformed bodies are 40001.</summary>
    public static async Task<JsonElement> ReadJsonAsync(HttpRequest request, int max, CancellationToken cancellationToken)
    {
        var bytes = await ReadAsync(request, max, cancellationToken);
        if (bytes.Length == 0)
        {
            return default;
        }

        try
        {
            var json = RestFormat.ForBody(request) == WireFormat.MessagePack ? MessagePackToJson(bytes) : bytes;

            // JsonElement.GetString() would throw on a damaged string only when a handler reads it: refuse it here.
            JsonStrings.EnsureDecodable(json);
            return JsonSerializer.Deserialize(json, TokenJsonContext.Default.JsonElement);
        }
        catch (Exception ex) when (ex is JsonException or ProtocolException or global::MessagePack.MessagePackSerializationException
                                       or EndOfStreamException or InvalidOperationException or OverflowException or ArgumentException)
        {
            throw new ProtocolException(ErrorCodes.InvalidRequestBody, "Request body is not valid " + RestFormat.ForBody(request) + ": " + ex.Message, ex);
        }
    }

    private static byte[] MessagePackToJson(byte[] bytes)
    {
        var reader = new MessagePackReader(bytes);
        var json = PayloadTranscoder.MessagePackToJson(ref reader);
        return reader.End ? json : throw new ProtocolException(ErrorCodes.InvalidRequestBody, "Trailing data after the MessagePack value");
    }
}
