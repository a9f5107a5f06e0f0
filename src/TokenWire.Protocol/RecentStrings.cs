using System.Buffers;
using System.Text.Unicode;

namespace TokenWire.Protocol;

/// <summary>
/// The short strings one connection's frames repeat (channel name, message name, encoding, clientId), kept so that a
/// publisher sending the same ones in every frame costs no new string per frame. Bounded: a new value replaces one not
/// found since the replacing last came round (a clock), so the channel and encoding a publisher repeats stay while its
/// ever new message names pass through, and a client sending only new ones costs nothing but misses. A hit is matched
/// by content: the input is
/// decoded strictly, so bytes that are not valid UTF-8 never match and take the reader's own path (which refuses or
/// replaces them as before). One per connection's read loop: not thread-safe.
/// </summary>
public sealed class RecentStrings
{
    /// <summary>Longer values are decoded as before: names this long are unlikely to repeat cheaply enough to matter.</summary>
    public const int MaxUtf8Length = 64;

    private const int Capacity = 8;

    private readonly string?[] _entries = new string?[Capacity];

    /// <summary>Found since the clock last passed: skipped (and cleared) by the next replacement.</summary>
    private readonly bool[] _found = new bool[Capacity];
    private int _hand;

    /// <summary>
    /// The string <paramref name="utf8"/> decodes to: a kept one when it is there, else a new one, kept from now on.
    /// False when the value is not kept (too long, or not valid UTF-8): the caller decodes it its own way.
    /// </summary>
    public bool TryGet(ReadOnlySpan<byte> utf8, out string value)
    {
        value = string.Empty;
        if (utf8.Length > MaxUtf8Length)
        {
            return false;
        }

        Span<char> chars = stackalloc char[MaxUtf8Length];
        if (Utf8.ToUtf16(utf8, chars, out _, out var length, replaceInvalidSequences: false) != OperationStatus.Done)
        {
            return false;
        }

        var decoded = chars[..length];
        for (var i = 0; i < Capacity; i++)
        {
            if (_entries[i] is { } entry && decoded.SequenceEqual(entry))
            {
                _found[i] = true;
                value = entry;
                return true;
            }
        }

        value = new string(decoded);
        while (_found[_hand])
        {
            _found[_hand] = false;
            _hand = (_hand + 1) % Capacity;
        }

        _entries[_hand] = value;
        _hand = (_hand + 1) % Capacity;
        return true;
    }
}
