using System.Text;

namespace TokenWire.Protocol.Tests.Fuzzing;

/// <summary>
/// Produces hostile variants of real frames, deterministically from a seed so any failure can be replayed: truncation,
/// bit flips, inserted/deleted/duplicated ranges, values of the wrong type, huge declared lengths, deep nesting,
/// invalid UTF-8, and frames of pure noise. Format-aware where it matters (JSON tokens, msgpack type markers), blind
/// elsewhere. Shared by the decoder fuzz tests and the live-connection fuzz tests (linked into TokenWire.Server.Tests).
/// </summary>
internal sealed class FrameMutator(int seed)
{
    /// <summary>msgpack type markers, including every variable-length header and the never-used 0xc1.</summary>
    private static readonly byte[] MessagePackMarkers =
    [
        0xc0, 0xc1, 0xc2, 0xc3, 0xc4, 0xc5, 0xc6, 0xc7, 0xc8, 0xc9, 0xca, 0xcb, 0xcc, 0xcd, 0xce, 0xcf, 0xd0, 0xd1, 0xd2, 0xd3,
        0xd4, 0xd5, 0xd6, 0xd7, 0xd8, 0xd9, 0xda, 0xdb, 0xdc, 0xdd, 0xde, 0xdf, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0x00, 0x7f, 0xe0, 0xff,
    ];

    /// <summary>Headers that declare far more content than any frame holds (str/bin/array/map/ext 32-bit, 16-bit).</summary>
    private static readonly byte[][] HugeMessagePackHeaders =
    [
        [0xdb, 0xff, 0xff, 0xff, 0xff], [0xdb, 0x7f, 0xff, 0xff, 0xff], [0xc6, 0xff, 0xff, 0xff, 0xff], [0xc6, 0x00, 0x10, 0x00, 0x00],
        [0xdd, 0xff, 0xff, 0xff, 0xff], [0xdd, 0x7f, 0xff, 0xff, 0xff], [0xdf, 0xff, 0xff, 0xff, 0xff], [0xdf, 0x40, 0x00, 0x00, 0x00],
        [0xc9, 0xff, 0xff, 0xff, 0xff, 0x01], [0xda, 0xff, 0xff], [0xdc, 0xff, 0xff], [0xde, 0xff, 0xff], [0xc5, 0xff, 0xff],
    ];

    /// <summary>JSON values of every type, and numbers no integer type holds.</summary>
    private static readonly string[] JsonValues =
    [
        "null", "true", "false", "0", "-1", "1.5", "-0", "1e999", "-1e999", "99999999999999999999999999", "\"\"", "\"x\"", "[]", "{}",
        "[1,2]", "{\"a\":1}", "\"\\ud800\"", "\"\\u0000\"", "\"\\uZZZZ\"", "NaN", "Infinity", "0x10", "01", "1e", "\"" + new string('a', 300) + "\"",
    ];

    /// <summary>Malformed UTF-8: lone continuation, overlong, surrogate, beyond U+10FFFF, truncated sequences, 0xff/0xfe.</summary>
    private static readonly byte[][] InvalidUtf8 =
    [
        [0x80], [0xbf], [0xc0, 0xaf], [0xc1, 0xbf], [0xe0, 0x80, 0xaf], [0xed, 0xa0, 0x80], [0xed, 0xbf, 0xbf], [0xf4, 0x90, 0x80, 0x80],
        [0xf8, 0x88, 0x80, 0x80, 0x80], [0xe2, 0x82], [0xf0, 0x9f, 0x98], [0xff], [0xfe], [0xc3],
    ];

    private readonly Random _random = new(seed);

    public int Seed { get; } = seed;

    /// <summary>One to three stacked mutations of <paramref name="frame"/>, or (one time in twenty) pure noise.</summary>
    public byte[] Mutate(byte[] frame, WireFormat format)
    {
        if (_random.Next(20) == 0)
        {
            return Noise();
        }

        var result = frame;
        var rounds = 1 + _random.Next(3);
        for (var i = 0; i < rounds; i++)
        {
            result = MutateOnce(result, format);
        }

        return result;
    }

    private byte[] MutateOnce(byte[] frame, WireFormat format) => _random.Next(12) switch
    {
        0 => Truncate(frame),
        1 => FlipBits(frame),
        2 => ReplaceBytes(frame),
        3 => Insert(frame, RandomBytes(1 + _random.Next(16))),
        4 => DeleteRange(frame),
        5 => DuplicateRange(frame),
        6 => format == WireFormat.Json ? WrongJsonType(frame) : WrongMessagePackType(frame),
        7 => format == WireFormat.Json ? HugeJsonValue(frame) : HugeMessagePackLength(frame),
        8 => format == WireFormat.Json ? DeepJson(frame) : DeepMessagePack(frame),
        9 => BreakUtf8(frame, format),
        10 => format == WireFormat.Json ? Insert(frame, Encoding.UTF8.GetBytes(JsonValues[_random.Next(JsonValues.Length)])) : Insert(frame, [MessagePackMarkers[_random.Next(MessagePackMarkers.Length)]]),
        _ => Splice(frame),
    };

    private byte[] Noise()
    {
        var length = _random.Next(4) == 0 ? _random.Next(4096) : _random.Next(64);
        return RandomBytes(length);
    }

    private byte[] RandomBytes(int length)
    {
        var bytes = new byte[length];
        _random.NextBytes(bytes);
        return bytes;
    }

    private int Position(byte[] frame) => frame.Length == 0 ? 0 : _random.Next(frame.Length + 1);

    private byte[] Truncate(byte[] frame) => frame.Length == 0 ? frame : frame[.._random.Next(frame.Length)];

    private byte[] FlipBits(byte[] frame)
    {
        var copy = (byte[])frame.Clone();
        for (var i = 0; i < 1 + _random.Next(8) && copy.Length > 0; i++)
        {
            copy[_random.Next(copy.Length)] ^= (byte)(1 << _random.Next(8));
        }

        return copy;
    }

    private byte[] ReplaceBytes(byte[] frame)
    {
        var copy = (byte[])frame.Clone();
        for (var i = 0; i < 1 + _random.Next(4) && copy.Length > 0; i++)
        {
            copy[_random.Next(copy.Length)] = (byte)_random.Next(256);
        }

        return copy;
    }

    private byte[] Insert(byte[] frame, byte[] bytes)
    {
        var at = Position(frame);
        return [.. frame.AsSpan(0, at), .. bytes, .. frame.AsSpan(at)];
    }

    private byte[] DeleteRange(byte[] frame)
    {
        if (frame.Length < 2)
        {
            return [];
        }

        var start = _random.Next(frame.Length);
        var length = 1 + _random.Next(Math.Min(32, frame.Length - start));
        return [.. frame.AsSpan(0, start), .. frame.AsSpan(start + length)];
    }

    private byte[] DuplicateRange(byte[] frame)
    {
        if (frame.Length == 0)
        {
            return frame;
        }

        var start = _random.Next(frame.Length);
        var length = 1 + _random.Next(Math.Min(64, frame.Length - start));
        return Insert(frame, frame.AsSpan(start, length).ToArray());
    }

    /// <summary>The head of this frame glued to the tail of itself at another offset (structure from two places).</summary>
    private byte[] Splice(byte[] frame)
    {
        if (frame.Length < 2)
        {
            return frame;
        }

        var cut = _random.Next(frame.Length);
        var from = _random.Next(frame.Length);
        return [.. frame.AsSpan(0, cut), .. frame.AsSpan(from)];
    }

    /// <summary>Replaces one JSON value (after a ':' or ',' or '[') with a value of another type.</summary>
    private byte[] WrongJsonType(byte[] frame)
    {
        var starts = new List<int>();
        for (var i = 0; i < frame.Length - 1; i++)
        {
            if (frame[i] is (byte)':' or (byte)',' or (byte)'[')
            {
                starts.Add(i + 1);
            }
        }

        if (starts.Count == 0)
        {
            return Insert(frame, Encoding.UTF8.GetBytes(JsonValues[_random.Next(JsonValues.Length)]));
        }

        var start = starts[_random.Next(starts.Count)];
        var end = JsonValueEnd(frame, start);
        var value = Encoding.UTF8.GetBytes(JsonValues[_random.Next(JsonValues.Length)]);
        return [.. frame.AsSpan(0, start), .. value, .. frame.AsSpan(end)];
    }

    /// <summary>Where the JSON value starting at <paramref name="start"/> ends (roughly: strings and nesting respected).</summary>
    private static int JsonValueEnd(byte[] frame, int start)
    {
        var depth = 0;
        var inString = false;
        for (var i = start; i < frame.Length; i++)
        {
            var b = frame[i];
            if (inString)
            {
                if (b == '\\')
                {
                    i++;
                }
                else if (b == '"')
                {
                    inString = false;
                    if (depth == 0)
                    {
                        return i + 1;
                    }
                }

                continue;
            }

            switch (b)
            {
                case (byte)'"':
                    inString = true;
                    break;
                case (byte)'{' or (byte)'[':
                    depth++;
                    break;
                case (byte)'}' or (byte)']':
                    if (depth == 0)
                    {
                        return i;
                    }

                    if (--depth == 0)
                    {
                        return i + 1;
                    }

                    break;
                case (byte)',' when depth == 0:
                    return i;
            }
        }

        return frame.Length;
    }

    private byte[] WrongMessagePackType(byte[] frame)
    {
        if (frame.Length == 0)
        {
            return [MessagePackMarkers[_random.Next(MessagePackMarkers.Length)]];
        }

        var copy = (byte[])frame.Clone();
        copy[_random.Next(copy.Length)] = MessagePackMarkers[_random.Next(MessagePackMarkers.Length)];
        return copy;
    }

    private byte[] HugeJsonValue(byte[] frame) => _random.Next(3) switch
    {
        0 => Insert(frame, Encoding.ASCII.GetBytes("1" + new string('0', 1 + _random.Next(2000)))),
        1 => Insert(frame, Encoding.ASCII.GetBytes("1e" + _random.NextInt64())),
        _ => Insert(frame, Encoding.ASCII.GetBytes("\"" + new string('\\', 2 * _random.Next(1000)) + "\"")),
    };

    /// <summary>Overwrites a header at a random offset (or inserts one) with a length the frame cannot hold.</summary>
    private byte[] HugeMessagePackLength(byte[] frame)
    {
        var header = HugeMessagePackHeaders[_random.Next(HugeMessagePackHeaders.Length)];
        if (_random.Next(2) == 0 || frame.Length < header.Length)
        {
            return Insert(frame, header);
        }

        var copy = (byte[])frame.Clone();
        header.CopyTo(copy, _random.Next(copy.Length - header.Length + 1));
        return copy;
    }

    private byte[] DeepJson(byte[] frame)
    {
        var depth = _random.Next(4) == 0 ? 1 + _random.Next(100_000) : 60 + _random.Next(20);
        var open = _random.Next(2) == 0 ? "[" : "{\"a\":";
        var close = open == "[" ? "]" : "}";
        var inner = _random.Next(2) == 0 ? frame : "1"u8.ToArray();
        var nested = Encoding.ASCII.GetBytes(string.Concat(Enumerable.Repeat(open, depth)));
        var closing = _random.Next(4) == 0 ? [] : Encoding.ASCII.GetBytes(string.Concat(Enumerable.Repeat(close, depth)));
        var value = (byte[])[.. nested, .. inner, .. closing];
        return _random.Next(2) == 0 ? value : WrongJsonTypeWith(frame, value);
    }

    private byte[] WrongJsonTypeWith(byte[] frame, byte[] value)
    {
        var at = Array.IndexOf(frame, (byte)':', _random.Next(Math.Max(1, frame.Length)));
        if (at < 0)
        {
            return value;
        }

        var end = JsonValueEnd(frame, at + 1);
        return [.. frame.AsSpan(0, at + 1), .. value, .. frame.AsSpan(end)];
    }

    private byte[] DeepMessagePack(byte[] frame)
    {
        var depth = _random.Next(4) == 0 ? 1 + _random.Next(100_000) : 60 + _random.Next(20);
        var level = _random.Next(2) == 0 ? new byte[] { 0x91 } : [0x81, 0xa1, (byte)'a'];
        var nested = new byte[depth * level.Length];
        for (var i = 0; i < depth; i++)
        {
            level.CopyTo(nested, i * level.Length);
        }

        var value = (byte[])[.. nested, 0xc0];
        return _random.Next(2) == 0 ? value : Insert(frame, value);
    }

    /// <summary>Invalid UTF-8 inside a string (after a JSON quote or a msgpack fixstr header) or anywhere.</summary>
    private byte[] BreakUtf8(byte[] frame, WireFormat format)
    {
        var bad = InvalidUtf8[_random.Next(InvalidUtf8.Length)];
        var candidates = new List<int>();
        for (var i = 0; i < frame.Length; i++)
        {
            var b = frame[i];
            if (format == WireFormat.Json ? b == '"' : b is >= 0xa1 and <= 0xbf && i + 1 + (b & 0x1f) <= frame.Length)
            {
                candidates.Add(i + 1);
            }
        }

        if (candidates.Count == 0)
        {
            return Insert(frame, bad);
        }

        var at = candidates[_random.Next(candidates.Count)];
        if (format == WireFormat.MessagePack)
        {
            // Overwrite the string's content in place, so its declared length stays right and only the UTF-8 is wrong.
            var copy = (byte[])frame.Clone();
            var room = Math.Min(bad.Length, (copy[at - 1] & 0x1f));
            bad.AsSpan(0, room).CopyTo(copy.AsSpan(at));
            return copy;
        }

        return [.. frame.AsSpan(0, at), .. bad, .. frame.AsSpan(at)];
    }
}
