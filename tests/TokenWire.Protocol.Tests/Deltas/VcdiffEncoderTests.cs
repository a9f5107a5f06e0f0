using System.Text;
using TokenWire.Protocol.Deltas;

namespace TokenWire.Protocol.Tests.Deltas;

public sealed class VcdiffEncoderTests
{
    private static readonly byte[] Header = [0xD6, 0xC3, 0xC4, 0x00, 0x00];

    public static TheoryData<string, string> TextPairs => new()
    {
        { "", "" },
        { "", "hello" },
        { "hello", "" },
        { "identical text", "identical text" },
        { "Hello wor", "Hello world, and then some more tokens" },
        { "{\"foo\":\"bar\",\"count\":1,\"status\":\"active\"}", "{\"foo\":\"bar\",\"count\":2,\"status\":\"active\"}" },
        { "{\"foo\":\"bar\",\"count\":3,\"status\":\"inactive\"}", "{\"foo\":\"bar\",\"count\":3,\"status\":\"active\"}" },
        { "abc", "abcabcabcabcabcabcabcabcabcabc" },
        { "xyz", new string('a', 1000) },
        { "the quick brown fox", "jumps over the lazy dog; the quick brown fox" },
        { "short", "héllo wörld ✓ — ünïcode" },
    };

    [Theory]
    [MemberData(nameof(TextPairs))]
    public void Text_round_trips(string source, string target)
    {
        var s = Encoding.UTF8.GetBytes(source);
        var t = Encoding.UTF8.GetBytes(target);

        var delta = VcdiffEncoder.Encode(s, t);

        Assert.Equal(Header, delta[..5]);
        Assert.Equal(t, VcdiffDecoder.Decode(delta, s));
    }

    [Fact]
    public void Random_and_mutated_binary_round_trips()
    {
        var random = new Random(17);
        for (var round = 0; round < 300; round++)
        {
            var source = new byte[random.Next(0, 3000)];
            random.NextBytes(source);
            var target = Mutate(source, random);

            var delta = VcdiffEncoder.Encode(source, target);

            Assert.Equal(target, VcdiffDecoder.Decode(delta, source));
        }
    }

    [Fact]
    public void Appended_tail_costs_only_the_tail()
    {
        var text = new StringBuilder();
        var random = new Random(5);
        while (text.Length < 4000)
        {
            text.Append(random.Next(0, 2) == 0 ? "token " : "word, ");
        }

        var source = Encoding.UTF8.GetBytes(text.ToString());
        var target = Encoding.UTF8.GetBytes(text + "and the new tail");

        var delta = VcdiffEncoder.Encode(source, target);

        Assert.Equal(target, VcdiffDecoder.Decode(delta, source));
        // Header and window fields (~16 bytes), one COPY of the base, one ADD of the 16-byte tail.
        Assert.True(delta.Length <= 16 + 24, $"delta is {delta.Length} bytes");
    }

    [Fact]
    public void Empty_to_empty_is_one_empty_window()
    {
        // Header, Win_Indicator 0 (no source), delta length 5, target length 0, Delta_Indicator 0, three empty sections.
        Assert.Equal([.. Header, 0x00, 0x05, 0x00, 0x00, 0x00, 0x00, 0x00], VcdiffEncoder.Encode([], []));
    }

    [Fact]
    public void Unrelated_bytes_are_one_add()
    {
        // VCD_SOURCE, segment 2 bytes at 0; delta 9 bytes: target 3, data 3, instructions 1 (ADD 3 = index 4), no addresses.
        byte[] expected = [.. Header, 0x01, 0x02, 0x00, 0x09, 0x03, 0x00, 0x03, 0x01, 0x00, (byte)'x', (byte)'y', (byte)'z', 0x04];
        Assert.Equal(expected, VcdiffEncoder.Encode("ab"u8, "xyz"u8));
    }

    [Fact]
    public void Identical_is_one_copy_from_the_start_of_the_source()
    {
        // COPY 5 mode SELF = index 19 + 5 - 3 = 21, address 0.
        byte[] expected = [.. Header, 0x01, 0x05, 0x00, 0x07, 0x05, 0x00, 0x00, 0x01, 0x01, 21, 0x00];
        Assert.Equal(expected, VcdiffEncoder.Encode("hello"u8, "hello"u8));
    }

    [Fact]
    public void Copy_then_add_for_a_tail()
    {
        // COPY 5 from 0, ADD "!" (index 2).
        byte[] expected = [.. Header, 0x01, 0x05, 0x00, 0x09, 0x06, 0x00, 0x01, 0x02, 0x01, (byte)'!', 21, 2, 0x00];
        Assert.Equal(expected, VcdiffEncoder.Encode("hello"u8, "hello!"u8));
    }

    [Fact]
    public void Long_runs_are_a_run_and_sizes_past_127_take_two_bytes()
    {
        var target = new byte[200];
        Array.Fill(target, (byte)7);

        // No source: RUN (index 0) of 200 = 0x81 0x48, data the byte 7.
        byte[] expected = [.. Header, 0x00, 0x0A, 0x81, 0x48, 0x00, 0x01, 0x03, 0x00, 0x07, 0x00, 0x81, 0x48];
        Assert.Equal(expected, VcdiffEncoder.Encode([], target));
        Assert.Equal(target, VcdiffDecoder.Decode(expected, []));
    }

    [Fact]
    public void Decoder_rejects_truncated_and_out_of_range_deltas()
    {
        var delta = VcdiffEncoder.Encode("hello world"u8, "hello there world"u8);

        Assert.Throws<FormatException>(() => VcdiffDecoder.Decode(delta[..^1], "hello world"u8));
        Assert.Throws<FormatException>(() => VcdiffDecoder.Decode(delta, "hello"u8));
        Assert.Throws<FormatException>(() => VcdiffDecoder.Decode("VCD"u8, []));
    }

    private static byte[] Mutate(byte[] source, Random random)
    {
        var target = new List<byte>(source);
        var edits = random.Next(0, 6);
        for (var e = 0; e < edits; e++)
        {
            var at = random.Next(0, target.Count + 1);
            switch (random.Next(0, 4))
            {
                case 0:
                    var insert = new byte[random.Next(1, 50)];
                    random.NextBytes(insert);
                    target.InsertRange(at, insert);
                    break;
                case 1 when target.Count > 0:
                    var remove = Math.Min(random.Next(1, 50), target.Count - Math.Min(at, target.Count - 1));
                    target.RemoveRange(Math.Min(at, target.Count - 1), remove);
                    break;
                case 2:
                    target.InsertRange(at, Enumerable.Repeat((byte)random.Next(256), random.Next(1, 40)));
                    break;
                default:
                    if (target.Count > 10)
                    {
                        target.AddRange(target.GetRange(0, random.Next(1, target.Count / 2)));
                    }

                    break;
            }
        }

        return [.. target];
    }
}
