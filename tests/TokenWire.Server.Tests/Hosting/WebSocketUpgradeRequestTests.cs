using System.Buffers;
using System.Text;
using TokenWire.Server.Hosting;

namespace TokenWire.Server.Tests.Hosting;

/// <summary>What the WebSocket fast path takes as a realtime upgrade request, and what it leaves to Kestrel.</summary>
public sealed class WebSocketUpgradeRequestTests
{
    private const string Query = "?key=dev.root%3Adev-root-secret&format=msgpack&heartbeats=true&v=6&agent=ably-js%2F2.28.0";

    /// <summary>As ably-js on Node sends it (the ws package), plus the headers a browser adds.</summary>
    private static string Upgrade(string target = "/" + Query, string extra = "") =>
        $"GET {target} HTTP/1.1\r\n"
        + "Sec-WebSocket-Version: 13\r\n"
        + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        + "Connection: keep-alive, Upgrade\r\n"
        + "Upgrade: websocket\r\n"
        + "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n"
        + "Origin: http://localhost:5173\r\n"
        + "User-Agent: Mozilla/5.0 (X11; Linux x86_64)\r\n"
        + extra
        + "Host: 127.0.0.1:8080\r\n"
        + "\r\n";

    [Fact]
    public void A_realtime_upgrade_is_taken_with_its_query_and_the_length_of_its_header_block()
    {
        var request = Upgrade();

        Assert.Equal(UpgradeDecision.Accept, Parse(request, out var upgrade));

        Assert.Equal(Query, upgrade.QueryString);
        Assert.Equal("dGhlIHNhbXBsZSBub25jZQ==", upgrade.Key);
        Assert.Equal(Encoding.ASCII.GetByteCount(request), upgrade.HeaderLength);
    }

    [Fact]
    public void A_bare_slash_has_an_empty_query()
    {
        Assert.Equal(UpgradeDecision.Accept, Parse(Upgrade("/"), out var upgrade));
        Assert.Equal("", upgrade.QueryString);
    }

    [Fact]
    public void The_accept_key_is_rfc_6455s()
    {
        // RFC 6455 §1.3's worked example.
        Assert.Equal("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", WebSocketUpgradeRequest.AcceptKey("dGhlIHNhbXBsZSBub25jZQ=="));

        Parse(Upgrade(), out var upgrade);
        var response = Encoding.ASCII.GetString(upgrade.SwitchingProtocols());
        Assert.StartsWith("HTTP/1.1 101 Switching Protocols\r\n", response, StringComparison.Ordinal);
        Assert.Contains("\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n", response, StringComparison.Ordinal);
        Assert.DoesNotContain("Extensions", response, StringComparison.Ordinal);
        Assert.EndsWith("\r\n\r\n", response, StringComparison.Ordinal);
    }

    [Fact]
    public void Every_prefix_of_an_upgrade_waits_for_more_and_the_whole_of_it_is_taken()
    {
        var request = Upgrade();
        for (var length = 0; length < request.Length; length++)
        {
            Assert.True(Parse(request[..length], out _) == UpgradeDecision.NeedMore, $"prefix of {length} bytes");
        }

        Assert.Equal(UpgradeDecision.Accept, Parse(request, out _));
    }

    [Fact]
    public void A_request_split_over_buffer_segments_is_read_whole()
    {
        var bytes = Encoding.ASCII.GetBytes(Upgrade());
        foreach (var cut in (int[])[1, 5, 17, bytes.Length / 2, bytes.Length - 3])
        {
            var sequence = Segments(bytes[..cut], bytes[cut..]);
            Assert.Equal(UpgradeDecision.Accept, WebSocketUpgradeRequest.Parse(sequence, out var upgrade));
            Assert.Equal(Query, upgrade.QueryString);
        }
    }

    [Fact]
    public void Bytes_after_the_header_block_are_left_for_the_websocket()
    {
        var request = Upgrade();
        var frame = "\x89\x81\x01\x02\x03\x04\n"; // a masked ping sent before the 101 arrived (a bare LF in it)

        Assert.Equal(UpgradeDecision.Accept, Parse(request + frame, out var upgrade));
        Assert.Equal(Encoding.ASCII.GetByteCount(request), upgrade.HeaderLength);
    }

    [Theory]
    [InlineData("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n")] // REST
    [InlineData("GET /comet/connect?key=a HTTP/1.1\r\nHost: a\r\n\r\n")] // comet
    [InlineData("GET / HTTP/1.1\r\nHost: a\r\nAccept: text/html\r\n\r\n")] // the demo page: GET / without an upgrade
    [InlineData("GET /channels/x/messages HTTP/1.1\r\nHost: a\r\n\r\n")]
    [InlineData("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")] // HTTP/2 prior knowledge
    [InlineData("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03")] // a TLS ClientHello
    [InlineData("GEX")] // a prefix of GET, then something else
    [InlineData("GET /x")]
    [InlineData("get / HTTP/1.1\r\n")]
    public void Other_requests_are_declined_before_their_end(string request) =>
        Assert.Equal(UpgradeDecision.Decline, Parse(request, out _));

    [Theory]
    [InlineData("/health", "")] // another path
    [InlineData("//?v=6", "")]
    [InlineData("/#x", "")]
    [InlineData("http://127.0.0.1/?v=6", "")] // absolute form
    [InlineData("/?a=\u00e9", "")] // not ASCII
    [InlineData("/", "Content-Length: 5\r\n")] // a body
    [InlineData("/", "Transfer-Encoding: chunked\r\n")]
    [InlineData("/", "Host: other\r\n")] // a second Host
    [InlineData("/", "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n")] // a second key
    [InlineData("/", "Upgrade: websocket\r\n")] // a repeated header, even with the same value
    [InlineData("/", "X-Bad : value\r\n")] // whitespace before the colon
    [InlineData("/", " folded\r\n")] // obs-fold
    [InlineData("/", "X-Bad: a\u0001b\r\n")] // a control character
    [InlineData("/", "No colon\r\n")]
    public void Anything_unusual_about_an_upgrade_is_left_to_kestrel(string target, string extra) =>
        Assert.Equal(UpgradeDecision.Decline, Parse(Upgrade(target, extra), out _));

    [Theory]
    [InlineData("Sec-WebSocket-Version: 13\r\n", "Sec-WebSocket-Version: 8\r\n")]
    [InlineData("Sec-WebSocket-Version: 13\r\n", "")]
    [InlineData("Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n", "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ\r\n")]
    [InlineData("Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n", "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQAA\r\n")] // 18 bytes
    [InlineData("Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n", "")]
    [InlineData("Connection: keep-alive, Upgrade\r\n", "Connection: keep-alive\r\n")]
    [InlineData("Upgrade: websocket\r\n", "Upgrade: h2c\r\n")]
    [InlineData("Upgrade: websocket\r\n", "")]
    [InlineData("Host: 127.0.0.1:8080\r\n", "")] // HTTP/1.1 requires Host
    [InlineData("Host: 127.0.0.1:8080\r\n", "Host: a/b\r\n")]
    [InlineData("HTTP/1.1\r\n", "HTTP/1.0\r\n")]
    [InlineData("\r\nHost:", "\nHost:")] // a bare LF
    public void An_upgrade_missing_what_it_needs_is_left_to_kestrel(string part, string replacement)
    {
        var request = Upgrade();
        Assert.Contains(part, request, StringComparison.Ordinal);
        Assert.Equal(UpgradeDecision.Decline, Parse(request.Replace(part, replacement, StringComparison.Ordinal), out _));
    }

    [Fact]
    public void Header_names_and_the_upgrade_tokens_are_case_insensitive()
    {
        var request = Upgrade().Replace("Upgrade: websocket", "UPGRADE: WebSocket", StringComparison.Ordinal)
            .Replace("Connection: keep-alive, Upgrade", "connection: upgrade", StringComparison.Ordinal);
        Assert.Equal(UpgradeDecision.Accept, Parse(request, out _));
    }

    [Fact]
    public void An_oversized_header_block_is_declined_complete_or_not()
    {
        var padding = $"X-Padding: {new string('a', WebSocketUpgradeRequest.MaxHeaderBytes)}\r\n";
        var request = Upgrade(extra: padding);

        Assert.Equal(UpgradeDecision.Decline, Parse(request, out _));
        Assert.Equal(UpgradeDecision.Decline, Parse(request[..(WebSocketUpgradeRequest.MaxHeaderBytes + 1)], out _));
        Assert.Equal(UpgradeDecision.NeedMore, Parse(request[..(WebSocketUpgradeRequest.MaxHeaderBytes - 1)], out _));
    }

    [Fact]
    public void A_header_block_just_within_the_bound_is_taken()
    {
        var bare = Upgrade(extra: "X-Padding: \r\n");
        var request = Upgrade(extra: $"X-Padding: {new string('a', WebSocketUpgradeRequest.MaxHeaderBytes - bare.Length)}\r\n");

        Assert.Equal(WebSocketUpgradeRequest.MaxHeaderBytes, request.Length);
        Assert.Equal(UpgradeDecision.Accept, Parse(request, out _));
    }

    private static UpgradeDecision Parse(string request, out WebSocketUpgradeRequest upgrade) =>
        WebSocketUpgradeRequest.Parse(new ReadOnlySequence<byte>(Encoding.Latin1.GetBytes(request)), out upgrade);

    private static ReadOnlySequence<byte> Segments(byte[] first, byte[] second)
    {
        var head = new Segment(first, 0);
        var tail = head.Append(second);
        return new ReadOnlySequence<byte>(head, 0, tail, second.Length);
    }

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory, long runningIndex)
        {
            Memory = memory;
            RunningIndex = runningIndex;
        }

        public Segment Append(ReadOnlyMemory<byte> memory)
        {
            var next = new Segment(memory, RunningIndex + Memory.Length);
            Next = next;
            return next;
        }
    }
}
