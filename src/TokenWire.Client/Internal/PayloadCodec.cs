using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using TokenWire.Protocol;

namespace TokenWire.Client.Internal;

/// <summary>
/// Message payload rules (reference §3.4, spec RSL4/RSL6). Publishing: strings and bytes travel as they are; any
/// other value becomes JSON text with encoding <c>json</c>, as ably-js does with objects. Receiving: the codecs have
/// already removed the transport's base64 layer; the remaining chain is undone right to left (a <c>vcdiff</c> step
/// against the channel's <see cref="DeltaBase"/>), except that <c>json</c> stays as the marker that
/// <see cref="MessageExtensions.GetJson"/> reads.
/// </summary>
internal static class PayloadCodec
{
    public const string JsonEncoding = "json";

    public static (MessageData Data, string? Encoding) EncodeData(object? data, JsonSerializerOptions options) => data switch
    {
        null => (MessageData.None, null),
        string text => (MessageData.FromText(text), null),
        byte[] bytes => (MessageData.FromBytes(bytes), null),
        ReadOnlyMemory<byte> memory => (MessageData.FromBytes(memory.ToArray()), null),
        Memory<byte> memory => (MessageData.FromBytes(memory.ToArray()), null),
        ArraySegment<byte> segment => (MessageData.FromBytes(segment.ToArray()), null),
        MessageData payload => (payload, null),
        JsonElement { ValueKind: JsonValueKind.Undefined } => (MessageData.None, null),
        JsonElement element => (MessageData.FromText(element.GetRawText()), JsonEncoding),
        JsonDocument document => (MessageData.FromText(document.RootElement.GetRawText()), JsonEncoding),
        JsonNode node => (MessageData.FromText(node.ToJsonString()), JsonEncoding),
        JsonPayload json => (MessageData.FromText(json.ToString()), JsonEncoding),
        _ => (MessageData.FromText(JsonSerializer.Serialize(data, data.GetType(), options)), JsonEncoding),
    };

    /// <summary>Extras must be a JSON object (spec TM2i), e.g. <c>{ "headers": { "responseId": "r1" } }</c>.</summary>
    public static JsonPayload? EncodeExtras(object? extras, JsonSerializerOptions options)
    {
        byte[] utf8;
        switch (extras)
        {
            case null:
                return null;
            case JsonPayload payload:
                utf8 = payload.Utf8Json.ToArray();
                break;
            case string:
                throw new ArgumentException("Extras must be a JSON object (JsonObject, JsonElement or a serializable object), not a string.", nameof(extras));
            case JsonElement element:
                utf8 = Encoding.UTF8.GetBytes(element.GetRawText());
                break;
            case JsonDocument document:
                utf8 = Encoding.UTF8.GetBytes(document.RootElement.GetRawText());
                break;
            case JsonNode node:
                utf8 = Encoding.UTF8.GetBytes(node.ToJsonString());
                break;
            default:
                utf8 = JsonSerializer.SerializeToUtf8Bytes(extras, extras.GetType(), options);
                break;
        }

        var first = utf8.AsSpan().TrimStart(" \t\r\n"u8);
        if (first.IsEmpty || first[0] != (byte)'{')
        {
            throw new ArgumentException("Extras must be a JSON object.", nameof(extras));
        }

        return new JsonPayload(utf8);
    }

    /// <summary>Presence payloads follow the message rules (spec TP3).</summary>
    public static void Decode(PresenceMessage message)
    {
        var decoded = new Message { Data = message.Data, Encoding = message.Encoding };
        Decode(decoded);
        message.Data = decoded.Data;
        message.Encoding = decoded.Encoding;
    }

    /// <summary>Annotation payloads follow the message rules too (spec TAN2).</summary>
    public static void Decode(Annotation annotation)
    {
        var decoded = new Message { Data = annotation.Data, Encoding = annotation.Encoding };
        Decode(decoded);
        annotation.Data = decoded.Data;
        annotation.Encoding = decoded.Encoding;
    }

    /// <summary>Undoes the encoding chain of a received message in place, right to left; stops at an unknown step.</summary>
    public static void Decode(Message message) => Decode(message, deltas: null);

    /// <summary>
    /// As <see cref="Decode(Message)"/>, applying a <c>vcdiff</c> step to the channel's <paramref name="deltas"/>
    /// base and recording the message as the next base (null: REST, where there are no deltas).
    /// </summary>
    /// <exception cref="AblyException">40018: a delta that cannot be applied (<see cref="DeltaBase.Apply"/>).</exception>
    public static void Decode(Message message, DeltaBase? deltas)
    {
        var encoding = message.Encoding;
        var data = message.Data;

        // The base the next delta applies to: the payload as received, or what a vcdiff step produced.
        var basePayload = data;
        while (!string.IsNullOrEmpty(encoding))
        {
            var slash = encoding.LastIndexOf('/');
            var step = slash < 0 ? encoding : encoding[(slash + 1)..];
            var rest = slash < 0 ? null : encoding[..slash];
            if (step == "base64" && data.Text is { } base64)
            {
                var buffer = new byte[base64.Length];
                if (!Convert.TryFromBase64String(base64, buffer, out var written))
                {
                    break;
                }

                data = MessageData.FromBytes(buffer.AsSpan(0, written).ToArray());
                if (encoding == message.Encoding)
                {
                    // An outermost base64 is transport, as ably-js sees it: the bytes under it are the base.
                    basePayload = data;
                }
            }
            else if (step == DeltaBase.VcdiffEncoding && deltas is not null && data.Bytes is { } delta)
            {
                data = MessageData.FromBytes(deltas.Apply(message, delta));
                basePayload = data;
            }
            else if (step is "utf-8" or "utf8" && data.Bytes is { } utf8)
            {
                data = MessageData.FromText(Encoding.UTF8.GetString(utf8));
            }
            else if (step == JsonEncoding && rest is null)
            {
                // The final step: keep "json" as the marker, with the JSON as text.
                if (data.Bytes is { } jsonBytes)
                {
                    data = MessageData.FromText(Encoding.UTF8.GetString(jsonBytes));
                }

                break;
            }
            else
            {
                break;
            }

            encoding = rest;
        }

        message.Data = data;
        message.Encoding = string.IsNullOrEmpty(encoding) ? null : encoding;
        deltas?.Remember(message.Id, basePayload);
    }
}
