using System.Text;
using MessagePackCode = global::MessagePack.MessagePackCode;
using MessagePackReader = global::MessagePack.MessagePackReader;
using MessagePackType = global::MessagePack.MessagePackType;

namespace TokenWire.Client.Internal;

/// <summary>
/// <see cref="MessageExtensions.GetHeader"/> read straight from extras kept as MessagePack, without transcoding them
/// to JSON and parsing that. Only for the answers it can give exactly as the JSON path would (a string, an integer, a
/// boolean, nil, or no such header); anything else is left to the JSON path.
/// </summary>
internal static class PackedHeaders
{
    /// <returns>False when the JSON path must answer.</returns>
    public static bool TryGet(ReadOnlyMemory<byte> extras, string name, out string? value)
    {
        value = null;
        var reader = new MessagePackReader(extras);
        if (reader.NextMessagePackType != MessagePackType.Map)
        {
            return true;
        }

        // A duplicated key: the last one counts, as in JsonElement.TryGetProperty.
        var headers = default(MessagePackReader);
        var hasHeaders = false;
        for (var n = reader.ReadMapHeader(); n > 0; n--)
        {
            if (!TryKeyEquals(ref reader, "headers"u8, out var match))
            {
                return false;
            }

            if (match)
            {
                headers = reader;
                hasHeaders = true;
            }

            reader.Skip();
        }

        if (!hasHeaders || headers.NextMessagePackType != MessagePackType.Map)
        {
            return true;
        }

        Span<byte> utf8Name = name.Length <= 64 ? stackalloc byte[Encoding.UTF8.GetMaxByteCount(name.Length)] : new byte[Encoding.UTF8.GetMaxByteCount(name.Length)];
        utf8Name = utf8Name[..Encoding.UTF8.GetBytes(name, utf8Name)];
        var at = default(MessagePackReader);
        var hasEntry = false;
        for (var n = headers.ReadMapHeader(); n > 0; n--)
        {
            if (!TryKeyEquals(ref headers, utf8Name, out var match))
            {
                return false;
            }

            if (match)
            {
                at = headers;
                hasEntry = true;
            }

            headers.Skip();
        }

        if (!hasEntry)
        {
            return true;
        }

        switch (at.NextMessagePackType)
        {
            case MessagePackType.String:
                value = at.ReadString();
                return true;
            case MessagePackType.Nil:
                return true;
            case MessagePackType.Boolean:
                value = at.ReadBoolean() ? "true" : "false";
                return true;
            case MessagePackType.Integer:
                value = at.NextCode == MessagePackCode.UInt64
                    ? at.ReadUInt64().ToString(System.Globalization.CultureInfo.InvariantCulture)
                    : at.ReadInt64().ToString(System.Globalization.CultureInfo.InvariantCulture);
                return true;
            default:
                return false; // floats, binary, objects and arrays: their JSON text is the JSON writer's to decide
        }
    }

    /// <summary>Reads a map key; false when it is not a contiguous, valid UTF-8 string (the JSON path decides then).</summary>
    private static bool TryKeyEquals(ref MessagePackReader reader, scoped ReadOnlySpan<byte> expected, out bool equals)
    {
        equals = false;
        if (reader.NextMessagePackType != MessagePackType.String || !reader.TryReadStringSpan(out var key) || !System.Text.Unicode.Utf8.IsValid(key))
        {
            return false;
        }

        equals = key.SequenceEqual(expected);
        return true;
    }
}
