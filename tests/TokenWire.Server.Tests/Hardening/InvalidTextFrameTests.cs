using System.Net.WebSockets;
using System.Text;
using System.Text.Unicode;
using TokenWire.Protocol;
using TokenWire.Protocol.Tests.Fuzzing;
using TokenWire.Protocol.Tests.Support;

namespace TokenWire.Server.Tests.Hardening;

/// <summary>
/// TEXT frames the WebSocket itself refuses (invalid UTF-8: close 1007) or that the codec refuses (ERROR, then a normal
/// close), sent the way a pipelining client sends: the bad frame and, at once, another one. Every refused connection
/// must end with a close frame carrying its code, never with a reset (1006, no close frame). Regression: the server
/// closed the TCP connection right after the WebSocket sent 1007, with the client's next frame unread, and the reset
/// that answers such data overtook the close frame in the client's buffer (most connections here, ~2.5 % in the
/// live fuzz test).
/// </summary>
public sealed class InvalidTextFrameTests : IAsyncLifetime
{
    /// <summary>Malformed UTF-8: lone continuation bytes, overlong forms, a surrogate, beyond U+10FFFF, truncated sequences, 0xfe/0xff.</summary>
    private static readonly byte[][] InvalidUtf8 =
    [
        [0x80], [0xbf], [0xc0, 0xaf], [0xc1, 0xbf], [0xe0, 0x80, 0xaf], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80],
        [0xf8, 0x88, 0x80, 0x80, 0x80], [0xe2, 0x82], [0xf0, 0x9f, 0x98], [0xff], [0xfe], [0xc3],
    ];

    private static readonly string RootKey = Uri.EscapeDataString(InProcessServer.RootKey);

    private InProcessServer _server = null!;

    public async Task InitializeAsync() => _server = await InProcessServer.StartAsync();

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task A_text_frame_with_invalid_UTF8_is_closed_with_1007_every_time_even_with_the_next_frame_on_its_way()
    {
        const int Rounds = 16;
        var attach = Encoding.UTF8.GetBytes("{\"action\":10,\"channel\":\"x\"}");
        var frames = Enumerable.Range(0, Rounds).SelectMany(_ => InvalidUtf8).Select(sequence => (byte[])[.. attach.AsSpan(0, 24), .. sequence, .. attach.AsSpan(24)]).ToList();

        var outcomes = await SendAllAsync(frames);

        var wrong = outcomes.Where(o => o != "close 1007").GroupBy(o => o).Select(g => $"{g.Count()}× {g.Key}").ToList();
        Assert.True(wrong.Count == 0, $"of {outcomes.Length} connections: {string.Join("; ", wrong)}");
    }

    [Fact]
    public async Task A_mutated_text_frame_is_answered_or_closed_with_a_close_frame_never_reset()
    {
        const int Frames = 300;
        var mutator = new FrameMutator(1407);
        var seeds = CapturedFrames.ClientFrameNames.Select(n => CapturedFrames.Client(WireFormat.Json, n)).ToList();
        var frames = Enumerable.Range(0, Frames).Select(i => mutator.Mutate(seeds[i % seeds.Count], WireFormat.Json)).ToList();

        var outcomes = await SendAllAsync(frames);

        var problems = new List<string>();
        var counts = new Dictionary<string, int>();
        foreach (var (frame, outcome) in frames.Zip(outcomes))
        {
            counts[outcome] = counts.GetValueOrDefault(outcome) + 1;
            var expected = Utf8.IsValid(frame) ? "answered, or a normal close (after an ERROR, CLOSED…)" : "close 1007";
            var fine = Utf8.IsValid(frame) ? outcome == "answered" || outcome.StartsWith("close 1000", StringComparison.Ordinal) : outcome == "close 1007";
            if (!fine)
            {
                problems.Add($"{outcome} (expected {expected}) for {Convert.ToHexString(frame.AsSpan(0, Math.Min(64, frame.Length)))}");
            }
        }

        Assert.True(problems.Count == 0, $"{problems.Count} of {Frames}:\n{string.Join('\n', problems.Take(10))}");
        Assert.True(counts.GetValueOrDefault("close 1007") > 0 && counts.GetValueOrDefault("answered") > 0, string.Join(", ", counts));
    }

    /// <summary>
    /// <see cref="SendAsync"/> for each frame, several connections at a time (a refused one takes up to a second: the
    /// client waits that long for the server to close the TCP connection, the server for the client).
    /// </summary>
    private async Task<string[]> SendAllAsync(List<byte[]> frames)
    {
        var outcomes = new string[frames.Count];
        await Parallel.ForEachAsync(
            Enumerable.Range(0, frames.Count),
            new ParallelOptions { MaxDegreeOfParallelism = 16 },
            async (i, _) => outcomes[i] = await SendAsync(frames[i]));
        return outcomes;
    }

    /// <summary>
    /// Sends <paramref name="frame"/> as TEXT and a HEARTBEAT right behind it; says how the connection answered: the
    /// HEARTBEAT came back ("answered"), a close frame ("close N", after an ERROR frame or not) or a reset.
    /// </summary>
    private async Task<string> SendAsync(byte[] frame)
    {
        await using var socket = await _server.ConnectAsync($"key={RootKey}&format=json&heartbeats=false&v=6");
        await socket.WaitForAsync(ProtocolAction.Connected);
        await socket.SendRawAsync(frame, WebSocketMessageType.Text);
        try
        {
            await socket.SendAsync(new ProtocolMessage(ProtocolAction.Heartbeat) { Id = "behind" });
        }
        catch (WebSocketException)
        {
            // The server closed first: what it sent is recorded.
        }

        await Wait.Eventually("an answer to the frame, or the close", () => socket.Closed.IsCompleted || socket.Frames.Any(f => f.Action == ProtocolAction.Heartbeat && f.Id == "behind"));
        if (!socket.Closed.IsCompleted)
        {
            return "answered";
        }

        return socket.CloseStatus is { } status
            ? $"close {(int)status}{(socket.Frames.Any(f => f.Action == ProtocolAction.Error) ? " after ERROR" : "")}"
            : "reset (1006)";
    }
}
