using System.Buffers;
using System.Security.Cryptography;
using System.Text;

namespace TokenWire.Server.Hosting;

/// <summary>What <see cref="WebSocketUpgradeRequest.Parse"/> made of the bytes a connection has sent so far.</summary>
internal enum UpgradeDecision
{
    /// <summary>So far it could be a realtime upgrade request; its header block is not complete yet.</summary>
    NeedMore,

    /// <summary>Not a request the fast path takes: Kestrel's HTTP stack serves it.</summary>
    Decline,

    /// <summary>A realtime WebSocket upgrade request, complete.</summary>
    Accept,
}

/// <summary>
/// The first request on a connection, when it is exactly a realtime WebSocket upgrade: <c>GET /</c> or <c>GET /?…</c>,
/// HTTP/1.1, one Host, <c>Upgrade: websocket</c>, <c>Connection</c> naming <c>upgrade</c>,
/// <c>Sec-WebSocket-Version: 13</c>, a key of 16 bytes, no body, every line well formed and the whole header block
/// within <see cref="MaxHeaderBytes"/>. Anything else is declined, never answered: Kestrel then parses it as it
/// always does (and answers what is malformed). Headers other than these are not read, as the endpoint reads none.
/// </summary>
internal readonly record struct WebSocketUpgradeRequest(string QueryString, string Key, int HeaderLength)
{
    /// <summary>Realtime connect requests carry credentials in the query (a JWT is ~1 KB); bigger ones go to Kestrel.</summary>
    public const int MaxHeaderBytes = 8192;

    private static ReadOnlySpan<byte> Prefix => "GET /"u8;

    private static ReadOnlySpan<byte> Version => " HTTP/1.1"u8;

    private static ReadOnlySpan<byte> EndOfHeaders => "\r\n\r\n"u8;

    /// <summary>RFC 6455 §1.3: appended to the client's key before hashing.</summary>
    private static ReadOnlySpan<byte> AcceptGuid => "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"u8;

    public static UpgradeDecision Parse(ReadOnlySequence<byte> buffer, out WebSocketUpgradeRequest request)
    {
        request = default;
        var length = (int)Math.Min(buffer.Length, MaxHeaderBytes);
        if (buffer.FirstSpan.Length >= length)
        {
            return ParseHead(buffer.FirstSpan[..length], buffer.Length > MaxHeaderBytes, out request);
        }

        var rented = ArrayPool<byte>.Shared.Rent(length);
        try
        {
            buffer.Slice(0, length).CopyTo(rented);
            return ParseHead(rented.AsSpan(0, length), buffer.Length > MaxHeaderBytes, out request);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

    /// <summary>The <c>Sec-WebSocket-Accept</c> value for <paramref name="key"/>.</summary>
    public static string AcceptKey(string key)
    {
        Span<byte> input = stackalloc byte[64];
        var written = Encoding.ASCII.GetBytes(key, input);
        AcceptGuid.CopyTo(input[written..]);
        Span<byte> hash = stackalloc byte[SHA1.HashSizeInBytes];
        SHA1.HashData(input[..(written + AcceptGuid.Length)], hash);
        return Convert.ToBase64String(hash);
    }

    /// <summary>The 101 answer: no extensions or subprotocol, as the endpoint behind Kestrel negotiates none.</summary>
    public byte[] SwitchingProtocols() => Encoding.ASCII.GetBytes(
        $"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Accept: {AcceptKey(Key)}\r\n\r\n");

    private static UpgradeDecision ParseHead(ReadOnlySpan<byte> head, bool truncated, out WebSocketUpgradeRequest request)
    {
        request = default;
        var prefix = Math.Min(head.Length, Prefix.Length);
        if (!head[..prefix].SequenceEqual(Prefix[..prefix]))
        {
            return UpgradeDecision.Decline;
        }

        // Anything but "GET / " or "GET /?" is declined at once: REST, comet, other methods, HTTP/2, TLS.
        if (head.Length > Prefix.Length && head[Prefix.Length] is not ((byte)' ' or (byte)'?'))
        {
            return UpgradeDecision.Decline;
        }

        var end = head.IndexOf(EndOfHeaders);

        // A bare LF is not a line end here (Kestrel decides what to make of it); waiting for CRLF CRLF would stall.
        var block = end < 0 ? head : head[..end];
        for (var i = 0; i < block.Length; i++)
        {
            if (block[i] == (byte)'\n' && (i == 0 || block[i - 1] != (byte)'\r'))
            {
                return UpgradeDecision.Decline;
            }
        }

        if (end < 0)
        {
            return truncated || head.Length >= MaxHeaderBytes ? UpgradeDecision.Decline : UpgradeDecision.NeedMore;
        }

        var lines = head[..(end + 2)];
        var lineEnd = lines.IndexOf("\r\n"u8);
        if (!TryReadTarget(lines[..lineEnd], out var queryString))
        {
            return UpgradeDecision.Decline;
        }

        var seen = new Seen();
        string? key = null;
        for (lines = lines[(lineEnd + 2)..]; !lines.IsEmpty; lines = lines[(lineEnd + 2)..])
        {
            lineEnd = lines.IndexOf("\r\n"u8);
            if (!ReadHeader(lines[..lineEnd], ref seen, ref key))
            {
                return UpgradeDecision.Decline;
            }
        }

        if (seen != (Seen.Host | Seen.Upgrade | Seen.Connection | Seen.Version | Seen.Key))
        {
            return UpgradeDecision.Decline;
        }

        request = new WebSocketUpgradeRequest(queryString, key!, end + EndOfHeaders.Length);
        return UpgradeDecision.Accept;
    }

    /// <summary><c>GET /[?query] HTTP/1.1</c>, the target in visible ASCII (Kestrel answers anything else with 400).</summary>
    private static bool TryReadTarget(ReadOnlySpan<byte> line, out string queryString)
    {
        queryString = "";
        if (!line.EndsWith(Version))
        {
            return false;
        }

        var target = line[(Prefix.Length - 1)..^Version.Length];
        if (target.Length > 1 && target[1] != (byte)'?')
        {
            return false;
        }

        foreach (var b in target)
        {
            if (b is <= 0x20 or >= 0x7F or (byte)'#')
            {
                return false;
            }
        }

        queryString = Encoding.ASCII.GetString(target[1..]);
        return true;
    }

    /// <summary>One header line; false for a malformed one, a body, or a repeated header of those the upgrade needs.</summary>
    private static bool ReadHeader(ReadOnlySpan<byte> line, ref Seen seen, ref string? key)
    {
        var colon = line.IndexOf((byte)':');
        if (colon <= 0)
        {
            return false;
        }

        var name = line[..colon];
        foreach (var b in name)
        {
            if (!IsTokenChar(b))
            {
                return false;
            }
        }

        var value = line[(colon + 1)..].Trim(" \t"u8);
        foreach (var b in value)
        {
            if (b is (< 0x20 and not (byte)'\t') or >= 0x7F)
            {
                return false;
            }
        }

        Seen header;
        if (Is(name, "host"))
        {
            header = Seen.Host;
            if (!IsHost(value))
            {
                return false;
            }
        }
        else if (Is(name, "upgrade"))
        {
            header = Seen.Upgrade;
            if (!Is(value, "websocket"))
            {
                return false;
            }
        }
        else if (Is(name, "connection"))
        {
            header = Seen.Connection;
            if (!HasToken(value, "upgrade"))
            {
                return false;
            }
        }
        else if (Is(name, "sec-websocket-version"))
        {
            header = Seen.Version;
            if (!value.SequenceEqual("13"u8))
            {
                return false;
            }
        }
        else if (Is(name, "sec-websocket-key"))
        {
            header = Seen.Key;
            key = Encoding.ASCII.GetString(value);
            Span<byte> decoded = stackalloc byte[18];
            if (key.Length != 24 || !Convert.TryFromBase64String(key, decoded, out var decodedLength) || decodedLength != 16)
            {
                return false;
            }
        }
        else
        {
            // A request with a body is not an upgrade Kestrel would hand over either.
            return !Is(name, "content-length") && !Is(name, "transfer-encoding");
        }

        if ((seen & header) != 0)
        {
            return false;
        }

        seen |= header;
        return true;
    }

    private static bool Is(ReadOnlySpan<byte> value, string expected) => Ascii.EqualsIgnoreCase(value, expected);

    /// <summary>Whether the comma-separated list <paramref name="value"/> holds <paramref name="token"/> (e.g. <c>keep-alive, Upgrade</c>).</summary>
    private static bool HasToken(ReadOnlySpan<byte> value, string token)
    {
        foreach (var range in value.Split((byte)','))
        {
            if (Is(value[range].Trim(" \t"u8), token))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>A host name or address and an optional port; Kestrel refuses other Host values with 400.</summary>
    private static bool IsHost(ReadOnlySpan<byte> value)
    {
        if (value.IsEmpty)
        {
            return false;
        }

        foreach (var b in value)
        {
            if (!(char.IsAsciiLetterOrDigit((char)b) || b is (byte)'.' or (byte)'-' or (byte)':' or (byte)'[' or (byte)']' or (byte)'_'))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>RFC 9110 tchar.</summary>
    private static bool IsTokenChar(byte b) =>
        char.IsAsciiLetterOrDigit((char)b) || b is (byte)'!' or (byte)'#' or (byte)'$' or (byte)'%' or (byte)'&' or (byte)'\'' or (byte)'*'
            or (byte)'+' or (byte)'-' or (byte)'.' or (byte)'^' or (byte)'_' or (byte)'`' or (byte)'|' or (byte)'~';

    [Flags]
    private enum Seen
    {
        Host = 1,
        Upgrade = 2,
        Connection = 4,
        Version = 8,
        Key = 16,
    }
}
