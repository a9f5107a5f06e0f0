using System.Text.Json;

namespace TokenWire.Protocol.Json;

/// <summary>
/// Checks that every string (and property name) in a JSON text can be decoded: valid UTF-8 and, inside escapes, whole
/// surrogate pairs. Utf8JsonReader and JsonDocument accept both kinds of damage while parsing and only fail when a
/// string is read, which may happen much later (when relaying a payload to msgpack, or reading a request field).
/// </summary>
public static class JsonStrings
{
    /// <summary>Throws <see cref="JsonException"/> or <see cref="InvalidOperationException"/> at the first string that cannot be decoded.</summary>
    public static void EnsureDecodable(ReadOnlySpan<byte> utf8Json)
    {
        var reader = new Utf8JsonReader(utf8Json, new JsonReaderOptions { MaxDepth = JsonProtocolCodec.MaxDepth });
        while (reader.Read())
        {
            if (reader.TokenType is not (JsonTokenType.String or JsonTokenType.PropertyName))
            {
                continue;
            }

            if (reader.ValueIsEscaped)
            {
                // Unescaping checks the escapes (a lone \ud800) and the UTF-8 around them.
                _ = reader.GetString();
            }
            else if (!System.Text.Unicode.Utf8.IsValid(reader.ValueSpan))
            {
                throw new JsonException("a string is not valid UTF-8");
            }
        }
    }
}
