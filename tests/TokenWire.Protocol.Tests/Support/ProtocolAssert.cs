using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace TokenWire.Protocol.Tests.Support;

/// <summary>
/// Structural comparison of decoded protocol values. Each value is rendered as a canonical, line-per-field text
/// (free-form JSON with sorted keys, binary as hex) so a mismatch shows as a readable string diff.
/// </summary>
internal static class ProtocolAssert
{
    public static void Equivalent(ProtocolMessage expected, ProtocolMessage actual) =>
        Assert.Equal(Dump(expected), Dump(actual));

    public static void Equivalent(IReadOnlyList<Message> expected, IReadOnlyList<Message> actual) =>
        Assert.Equal(DumpMessages(expected), DumpMessages(actual));

    /// <summary>Two JSON texts are the same value (object key order ignored).</summary>
    public static void JsonEquivalent(string expected, string actual) =>
        Assert.Equal(CanonicalJson(expected), CanonicalJson(actual));

    public static string Dump(ProtocolMessage pm)
    {
        var b = new StringBuilder();
        b.AppendLine($"action={pm.Action}");
        b.AppendLine($"flags={(int)pm.Flags}");
        b.AppendLine($"count={pm.Count}");
        b.AppendLine($"error={(pm.Error is { } e ? $"{e.Code}/{e.StatusCode}/{e.Message}" : string.Empty)}");
        b.AppendLine($"id={pm.Id}");
        b.AppendLine($"channel={pm.Channel}");
        b.AppendLine($"channelSerial={pm.ChannelSerial}");
        b.AppendLine($"connectionId={pm.ConnectionId}");
        b.AppendLine($"msgSerial={pm.MsgSerial}");
        b.AppendLine($"timestamp={pm.Timestamp}");
        if (pm.Messages is { } messages)
        {
            b.Append(DumpMessages(messages));
        }

        if (pm.Presence is { } presence)
        {
            for (var i = 0; i < presence.Count; i++)
            {
                b.AppendLine($"presence[{i}]={CanonicalJson(PresenceJson(presence[i]))}");
            }
        }

        b.AppendLine($"auth.accessToken={pm.AuthAccessToken}");
        if (pm.ConnectionDetails is { } d)
        {
            b.AppendLine($"connectionDetails={d.ConnectionKey}|{d.ClientId}|{d.MaxMessageSize}|{d.MaxInboundRate}|{d.MaxOutboundRate}|{d.MaxFrameSize}|{d.ServerId}|{d.ConnectionStateTtl}|{d.MaxIdleInterval}");
        }

        // The writers omit an empty params map, so absent and empty are the same value.
        foreach (var (key, value) in (pm.Params ?? new Dictionary<string, string>()).OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            b.AppendLine($"params.{key}={value}");
        }

        if (pm.Res is { } res)
        {
            for (var i = 0; i < res.Count; i++)
            {
                b.AppendLine($"res[{i}]={string.Join(",", res[i].Serials.Select(s => s ?? "<null>"))}");
            }
        }

        return b.ToString();
    }

    public static string DumpMessages(IReadOnlyList<Message> messages)
    {
        var b = new StringBuilder();
        b.AppendLine($"messages.count={messages.Count}");
        for (var i = 0; i < messages.Count; i++)
        {
            var m = messages[i];
            var p = $"messages[{i}].";
            b.AppendLine($"{p}id={m.Id}");
            b.AppendLine($"{p}name={m.Name}");
            b.AppendLine($"{p}data={DumpData(m.Data)}");
            b.AppendLine($"{p}encoding={m.Encoding}");
            b.AppendLine($"{p}clientId={m.ClientId}");
            b.AppendLine($"{p}connectionId={m.ConnectionId}");
            b.AppendLine($"{p}connectionKey={m.ConnectionKey}");
            b.AppendLine($"{p}timestamp={m.Timestamp}");
            b.AppendLine($"{p}extras={(m.Extras is { } x ? CanonicalJson(x.ToString()) : string.Empty)}");
            b.AppendLine($"{p}action={m.Action}");
            b.AppendLine($"{p}serial={m.Serial}");
            b.AppendLine($"{p}version={(m.Version is { } v ? CanonicalJson(v.ToString()) : string.Empty)}");
        }

        return b.ToString();
    }

    public static string DumpData(MessageData data) => data switch
    {
        { IsText: true } => "text:" + JsonSerializer.Serialize(data.Text),
        { IsBinary: true } => "bytes:" + Convert.ToHexString(data.Bytes!),
        _ => "none",
    };

    /// <summary>Re-serialises JSON with object keys sorted, so key order does not matter.</summary>
    /// <summary>One presence message as the JSON codec writes it, for comparisons that read like the wire.</summary>
    public static string PresenceJson(PresenceMessage presence)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        ProtocolCodecs.For(WireFormat.Json).WritePresenceMessages([presence], buffer);
        var array = System.Text.Encoding.UTF8.GetString(buffer.WrittenSpan);
        return array[1..^1];
    }

    public static string CanonicalJson(string json)
    {
        var node = JsonNode.Parse(json, documentOptions: new JsonDocumentOptions { MaxDepth = 256 });
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { MaxDepth = 256 }))
        {
            Write(node, writer);
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    private static void Write(JsonNode? node, Utf8JsonWriter writer)
    {
        switch (node)
        {
            case null:
                writer.WriteNullValue();
                break;
            case JsonObject obj:
                writer.WriteStartObject();
                foreach (var (key, value) in obj.OrderBy(p => p.Key, StringComparer.Ordinal))
                {
                    writer.WritePropertyName(key);
                    Write(value, writer);
                }

                writer.WriteEndObject();
                break;
            case JsonArray array:
                writer.WriteStartArray();
                foreach (var item in array)
                {
                    Write(item, writer);
                }

                writer.WriteEndArray();
                break;
            default:
                var element = node.GetValue<JsonElement>();
                if (element.ValueKind == JsonValueKind.Number)
                {
                    // 5, 5.0 and 5e0 are one number; JSON and MessagePack do not agree on how to spell it.
                    writer.WriteRawValue(element.TryGetInt64(out var l)
                        ? l.ToString(CultureInfo.InvariantCulture)
                        : element.GetDouble().ToString("R", CultureInfo.InvariantCulture));
                }
                else
                {
                    element.WriteTo(writer);
                }

                break;
        }
    }
}
