using System.Text.Json;

namespace TokenWire.Server.Channels;

/// <summary>
/// What a subscription filter can see of a message: its <c>name</c> and the flat <c>extras.headers</c> object, read in
/// place from the extras' UTF-8 JSON (a ref struct reader, no copies) each time the expression asks for a header.
/// </summary>
internal readonly ref struct FilterSubject
{
    private readonly ReadOnlySpan<byte> _extras;

    public FilterSubject(string? name, ReadOnlySpan<byte> extras)
    {
        Name = name;
        _extras = extras;
    }

    public string? Name { get; }

    /// <summary><c>headers.&lt;key&gt;</c>, or null when the message has no such header.</summary>
    public FilterValue Header(ReadOnlySpan<byte> key)
    {
        if (_extras.IsEmpty)
        {
            return FilterValue.Null;
        }

        try
        {
            var reader = new Utf8JsonReader(_extras);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return FilterValue.Null;
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var isHeaders = reader.ValueTextEquals("headers"u8);
                reader.Read();
                if (!isHeaders)
                {
                    reader.Skip();
                    continue;
                }

                return reader.TokenType == JsonTokenType.StartObject ? FindProperty(ref reader, key) : FilterValue.Null;
            }
        }
        catch (JsonException)
        {
            // Extras arrive as validated JSON; should they not be, the header is simply absent.
        }

        return FilterValue.Null;
    }

    private static FilterValue FindProperty(scoped ref Utf8JsonReader reader, ReadOnlySpan<byte> key)
    {
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var found = reader.ValueTextEquals(key);
            reader.Read();
            if (found)
            {
                return ValueAt(ref reader);
            }

            reader.Skip();
        }

        return FilterValue.Null;
    }

    private static FilterValue ValueAt(scoped ref Utf8JsonReader reader) => reader.TokenType switch
    {
        // An escaped string is the one case that allocates: its text differs from its bytes.
        JsonTokenType.String => reader.ValueIsEscaped ? FilterValue.OfText(reader.GetString()!) : FilterValue.OfUtf8(reader.ValueSpan),
        JsonTokenType.Number => reader.TryGetDouble(out var number) ? FilterValue.OfNumber(number) : FilterValue.Null,
        JsonTokenType.True => FilterValue.Bool(true),
        JsonTokenType.False => FilterValue.Bool(false),
        JsonTokenType.Null => FilterValue.Null,
        _ => FilterValue.OfOther(),
    };
}
