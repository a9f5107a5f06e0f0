using System.Buffers;
using TokenWire.Server.Engine;

namespace TokenWire.Server.Tests.Engine;

public sealed class RetainedBytesTests
{
    [Fact]
    public void Slices_keep_their_bytes_while_later_messages_are_packed_after_them()
    {
        var store = new RetainedBytes();
        var slices = Enumerable.Range(0, 2_000).Select(i => (Expected: Bytes(i, 10 + i % 90), Stored: default(StoredBytes))).ToArray();
        for (var i = 0; i < slices.Length; i++)
        {
            slices[i].Stored = store.Add(slices[i].Expected, nowMs: i);
        }

        foreach (var (expected, stored) in slices)
        {
            Assert.Equal(expected, stored.Sequence.ToArray());
        }

        // Packed: 2,000 messages in far fewer arrays, each allocated on the pinned object heap (old from the start).
        var chunks = slices.Select(s => s.Stored.Array).Distinct().ToList();
        Assert.InRange(chunks.Count, 2, 40);
        Assert.All(chunks, chunk => Assert.Equal(2, GC.GetGeneration(chunk)));
    }

    [Fact]
    public void Chunks_grow_for_a_busy_channel_and_shrink_for_a_quiet_one()
    {
        var store = new RetainedBytes();
        var message = Bytes(1, 100);
        var busy = Enumerable.Range(0, 3_000).Select(_ => store.Add(message, nowMs: 0)).ToList();
        Assert.Equal(64 * 1024, busy[^1].Array.Length);

        // One message a minute: each new chunk is half the last, down to the smallest.
        var quiet = Enumerable.Range(1, 400).Select(i => store.Add(message, nowMs: i * 60_000L)).ToList();
        Assert.Equal(512, quiet[^1].Array.Length);
    }

    [Fact]
    public void A_large_message_gets_an_array_of_its_own()
    {
        var store = new RetainedBytes();
        var small = store.Add(Bytes(1, 100), nowMs: 0);
        var large = store.Add(Bytes(2, 40_000), nowMs: 0);
        var next = store.Add(Bytes(3, 100), nowMs: 0);

        Assert.Equal(40_000, large.Array.Length);
        Assert.Equal(0, large.Start);
        Assert.Same(small.Array, next.Array);
        Assert.Equal(Bytes(3, 100), next.Sequence.ToArray());
    }

    private static byte[] Bytes(int seed, int length) => Enumerable.Range(0, length).Select(i => (byte)(seed * 31 + i)).ToArray();
}
