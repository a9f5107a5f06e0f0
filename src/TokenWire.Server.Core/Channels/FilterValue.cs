using System.Text;

namespace TokenWire.Server.Channels;

/// <summary>The JSON types a subscription filter compares (JMESPath's, less arrays and objects, which headers never hold).</summary>
internal enum FilterValueKind : byte
{
    Null,
    False,
    True,
    Number,
    String,

    /// <summary>A nested object or array (headers should be flat): truthy, equal to nothing.</summary>
    Other,
}

/// <summary>
/// A value met while evaluating a filter, on the stack: a string is either UTF-16 text (the message name, a literal) or
/// UTF-8 bytes straight out of the message's extras, so a header is read without copying it.
/// </summary>
internal readonly ref struct FilterValue
{
    private FilterValue(FilterValueKind kind, double number, string? text, ReadOnlySpan<byte> utf8, bool hasUtf8 = false)
    {
        Kind = kind;
        HasUtf8 = hasUtf8;
        Number = number;
        Text = text;
        Utf8 = utf8;
    }

    public static FilterValue Null => default;

    public FilterValueKind Kind { get; }

    public double Number { get; }

    /// <summary>The string as text, when it came as text (for a literal, both forms are set).</summary>
    public string? Text { get; }

    /// <summary>The string as unescaped UTF-8, when it came as bytes.</summary>
    public ReadOnlySpan<byte> Utf8 { get; }

    public bool HasUtf8 { get; }

    /// <summary>JMESPath truthiness: null, false and the empty string are false; everything else true.</summary>
    public bool IsTruthy => Kind switch
    {
        FilterValueKind.Null or FilterValueKind.False => false,
        FilterValueKind.String => Text is { } text ? text.Length > 0 : !Utf8.IsEmpty,
        _ => true,
    };

    public static FilterValue Bool(bool value) => new(value ? FilterValueKind.True : FilterValueKind.False, 0, null, default);

    public static FilterValue OfNumber(double value) => new(FilterValueKind.Number, value, null, default);

    public static FilterValue OfText(string text) => new(FilterValueKind.String, 0, text, default);

    /// <summary>A literal: both forms, so it compares with names and headers alike without transcoding.</summary>
    public static FilterValue OfLiteral(string text, byte[] utf8) => new(FilterValueKind.String, 0, text, utf8, hasUtf8: true);

    public static FilterValue OfUtf8(ReadOnlySpan<byte> utf8) => new(FilterValueKind.String, 0, null, utf8, hasUtf8: true);

    public static FilterValue OfOther() => new(FilterValueKind.Other, 0, null, default);

    /// <summary>JMESPath equality: same type and value (numbers by value, so <c>1 == 1.0</c>).</summary>
    public static bool AreEqual(in FilterValue a, in FilterValue b)
    {
        if (a.Kind != b.Kind)
        {
            return false;
        }

        return a.Kind switch
        {
            FilterValueKind.Number => a.Number == b.Number,
            FilterValueKind.String => StringEquals(a, b),
            FilterValueKind.Other => false,
            _ => true,
        };
    }

    private static bool StringEquals(in FilterValue a, in FilterValue b)
    {
        if (a.Text is { } left && b.Text is { } right)
        {
            return string.Equals(left, right, StringComparison.Ordinal);
        }

        if (a.HasUtf8 && b.HasUtf8)
        {
            return a.Utf8.SequenceEqual(b.Utf8);
        }

        // One is text only (the message name), the other bytes only (a header).
        return a.Text is { } text ? TextEqualsUtf8(text, b.Utf8) : TextEqualsUtf8(b.Text!, a.Utf8);
    }

    /// <summary>Compares UTF-16 text with UTF-8 bytes scalar by scalar, without transcoding either into a buffer.</summary>
    private static bool TextEqualsUtf8(ReadOnlySpan<char> text, ReadOnlySpan<byte> utf8)
    {
        while (!text.IsEmpty && !utf8.IsEmpty)
        {
            if (Rune.DecodeFromUtf16(text, out var left, out var leftLength) != System.Buffers.OperationStatus.Done
                || Rune.DecodeFromUtf8(utf8, out var right, out var rightLength) != System.Buffers.OperationStatus.Done
                || left != right)
            {
                return false;
            }

            text = text[leftLength..];
            utf8 = utf8[rightLength..];
        }

        return text.IsEmpty && utf8.IsEmpty;
    }
}
