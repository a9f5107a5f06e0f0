using System.Buffers;
using TokenWire.Protocol.Tests.Support;

namespace TokenWire.Protocol.Tests.Fuzzing;

/// <summary>
/// Hostile input through the real decoders (issue 5, hardening): mutated captures of ably-js frames and pure noise.
/// Whatever comes in, a decoder either returns a message or throws <see cref="ProtocolException"/> with a 4xxxx
/// code; it never throws anything else, never hangs, and never allocates more than a bound proportional to the input.
/// Whatever it returns can be encoded in both formats (the server relays messages across formats).
/// Seeds are fixed, so a failure names the seed and frame that reproduce it.
/// </summary>
public sealed class DecoderFuzzTests
{
    private const int FramesPerFormat = 100_000;

    /// <summary>Generous: a decoded message is a handful of objects per input byte at most (strings, lists, maps).</summary>
    private const long AllocationBase = 1 << 20;
    private const long AllocationPerInputByte = 64;

    public static TheoryData<string, int> Formats => new() { { "json", 5001 }, { "msgpack", 5002 } };

    [Theory]
    [MemberData(nameof(Formats))]
    public async Task Mutated_and_random_frames_only_ever_raise_ProtocolException_with_bounded_allocation(string formatName, int seed)
    {
        var format = formatName == "json" ? WireFormat.Json : WireFormat.MessagePack;
        var seeds = Seeds(format);

        // A dedicated thread: allocation is counted per thread, and a decoder stuck in a loop fails the test by timeout.
        // The run takes seconds on an idle box; the bound is far above what a loaded CI box stretches that to (a 60 s
        // bound once failed at load average 30), and still ends a real hang.
        var report = await Task.Factory.StartNew(() => Run(format, seeds, seed), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default)
            .WaitAsync(TimeSpan.FromMinutes(10));

        Assert.True(report.Failures.Count == 0, $"{report.Failures.Count} of {report.Frames} frames misbehaved (seed {seed}):\n{string.Join('\n', report.Failures.Take(10))}");
        Assert.True(report.Frames >= FramesPerFormat, $"only {report.Frames} frames");

        // The corpus must exercise both outcomes, or the mutations are too mild (or too wild) to mean anything.
        Assert.True(report.Decoded > report.Frames / 100, $"only {report.Decoded} of {report.Frames} mutated frames still decoded");
        Assert.True(report.Rejected > report.Frames / 4, $"only {report.Rejected} of {report.Frames} frames were rejected");
    }

    [Theory]
    [InlineData(0xdd, "array32")]
    [InlineData(0xdf, "map32")]
    [InlineData(0xdb, "str32")]
    [InlineData(0xc6, "bin32")]
    [InlineData(0xc9, "ext32")]
    public void A_msgpack_header_declaring_four_billion_items_is_refused_without_allocating_for_them(byte marker, string what)
    {
        // {"action":15,"messages":<header ff ff ff ff>} and nothing after it.
        byte[] frame = [0x82, 0xa6, .. "action"u8, 0x0f, 0xa8, .. "messages"u8, marker, 0xff, 0xff, 0xff, 0xff];

        var before = GC.GetAllocatedBytesForCurrentThread();
        var ex = Record.Exception(() => ProtocolCodecs.MessagePack.Decode(frame));
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.IsType<ProtocolException>(ex);
        Assert.True(allocated < AllocationBase, $"{what}: {allocated} bytes allocated");
    }

    [Theory]
    [InlineData(WireFormat.Json)]
    [InlineData(WireFormat.MessagePack)]
    public void Nesting_a_hundred_thousand_levels_deep_is_refused_without_recursing_into_it(WireFormat format)
    {
        const int depth = 100_000;
        byte[] frame = format == WireFormat.Json
            ? [.. """{"action":15,"messages":[{"extras":"""u8, .. Enumerable.Repeat((byte)'[', depth), .. Enumerable.Repeat((byte)']', depth), .. "}]}"u8]
            : [0x82, 0xa6, .. "action"u8, 0x0f, 0xa8, .. "messages"u8, 0x91, 0x81, 0xa6, .. "extras"u8, .. Enumerable.Repeat((byte)0x91, depth), 0xc0];

        var ex = Record.Exception(() => ProtocolCodecs.For(format).Decode(frame));

        var protocol = Assert.IsType<ProtocolException>(ex);
        Assert.Equal(ErrorCodes.BadRequest, protocol.Error.Code);
    }

    [Theory]
    [InlineData("invalid UTF-8 in an extras string", "{\"action\":15,\"messages\":[{\"extras\":{\"h\":\"\xff\"}}]}")]
    [InlineData("half a surrogate pair in an extras string", "{\"action\":15,\"messages\":[{\"extras\":{\"h\":\"\\ud800\"}}]}")]
    [InlineData("half a surrogate pair in an extras key", "{\"action\":15,\"messages\":[{\"extras\":{\"\\udc00\":1}}]}")]
    [InlineData("invalid UTF-8 in a version string", "{\"action\":15,\"messages\":[{\"version\":{\"serial\":\"\xc0\xaf\"}}]}")]
    [InlineData("invalid UTF-8 in a presence item", "{\"action\":14,\"presence\":[{\"data\":\"\xed\xa0\x80\"}]}")]
    public void A_json_payload_the_msgpack_writer_could_not_encode_is_refused_when_decoded(string what, string latin1Frame)
    {
        // Regression: such payloads were accepted and then failed to encode for every msgpack subscriber.
        var frame = System.Text.Encoding.Latin1.GetBytes(latin1Frame);

        var ex = Record.Exception(() => ProtocolCodecs.Json.Decode(frame));

        Assert.True(ex is ProtocolException { Error.Code: ErrorCodes.BadRequest }, $"{what}: {ex?.GetType().Name ?? "accepted"}");
    }

    private sealed record Report(int Frames, int Decoded, int Rejected, List<string> Failures);

    private static Report Run(WireFormat format, IReadOnlyList<byte[]> seeds, int seed)
    {
        var mutator = new FrameMutator(seed);
        var random = new Random(seed);
        var codec = ProtocolCodecs.For(format);
        var failures = new List<string>();
        int decoded = 0, rejected = 0, frames = 0;
        for (; frames < FramesPerFormat; frames++)
        {
            var frame = mutator.Mutate(seeds[random.Next(seeds.Count)], format);

            // Every other frame as a REST body (one message or an array) instead of a WebSocket frame.
            var asBody = (frames & 1) == 1;
            var before = GC.GetAllocatedBytesForCurrentThread();
            Exception? error = null;
            object? result = null;
            try
            {
                result = asBody ? codec.ReadMessages(new ReadOnlySequence<byte>(frame)) : codec.Decode(frame);
            }
            catch (Exception ex)
            {
                error = ex;
            }

            var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            var bound = AllocationBase + (AllocationPerInputByte * frame.Length);
            var what = $"frame {frames} ({(asBody ? "body" : "frame")}, {frame.Length} bytes: {Hex(frame)})";
            if (allocated > bound)
            {
                failures.Add($"{what}: allocated {allocated} bytes (bound {bound})");
            }

            switch (error)
            {
                case null:
                    decoded++;
                    ReEncode(result!, failures, what);
                    break;
                case ProtocolException protocol when protocol.Error.Code is >= 40000 and < 50000 && protocol.Error.Message.Length > 0:
                    rejected++;
                    break;
                case ProtocolException protocol:
                    failures.Add($"{what}: ProtocolException with {protocol.Error}");
                    break;
                default:
                    failures.Add($"{what}: {error.GetType().Name}: {error.Message}");
                    break;
            }
        }

        return new Report(frames, decoded, rejected, failures);
    }

    /// <summary>What was accepted must go back out in either format: the server relays it to subscribers of both.</summary>
    private static void ReEncode(object decoded, List<string> failures, string what)
    {
        try
        {
            if (decoded is ProtocolMessage message)
            {
                ProtocolCodecs.Json.Encode(message);
                ProtocolCodecs.MessagePack.Encode(message);
            }
            else
            {
                var messages = (IReadOnlyList<Message>)decoded;
                ProtocolCodecs.Json.EncodeMessages(messages);
                ProtocolCodecs.MessagePack.EncodeMessages(messages);
            }
        }
        catch (Exception ex)
        {
            failures.Add($"{what}: decoded, but re-encoding failed: {ex.GetType().Name}: {ex.Message}");
        }
    }

    /// <summary>Every captured client frame and hand-written server frame of the format.</summary>
    private static List<byte[]> Seeds(WireFormat format) =>
    [
        .. CapturedFrames.ClientFrameNames.Select(name => CapturedFrames.Client(format, name)),
        .. CapturedFrames.ServerFrameNames.Select(name => CapturedFrames.Server(format, name)),
    ];

    private static string Hex(byte[] frame) => frame.Length <= 96 ? Convert.ToHexString(frame) : Convert.ToHexString(frame.AsSpan(0, 96)) + "…";
}
