using System.Text;
using TokenWire.Server.Engine;

namespace TokenWire.Server.Tests.Engine;

/// <summary>
/// The open-addressed id table on its own, against a fake log: lookups under colliding hashes, removal in offset order
/// (backward shifts, runs that wrap past the table's end), growth and shrinking, offsets past 2^32.
/// </summary>
public sealed class RetainedIdsTests
{
    [Fact]
    public void Ids_with_one_hash_are_each_found_while_the_run_they_share_is_removed_from_its_front()
    {
        // One fingerprint and one home slot, the table's last, for every id: a single run that wraps past the end.
        var log = new FakeLog();
        var ids = new RetainedIds(static _ => 0xFFFF_FFFF_0000_0000);
        for (var offset = 1L; offset <= 40; offset++)
        {
            ids.Add(log.Store(offset, $"id-{offset}"), offset);
        }

        for (var removed = 1L; removed <= 40; removed++)
        {
            AssertHolds(ids, log, removed, 40);
            ids.Remove(log.IdBytes(removed), removed);
            log.Forget(removed);
            Assert.False(ids.TryGet($"id-{removed}", log, out _));
        }

        Assert.Equal(0, ids.Count);
    }

    [Fact]
    public void A_sliding_window_keeps_every_id_through_growths_shrinks_and_offsets_past_two_to_the_32()
    {
        // Few distinct hashes, so runs are long and collide; offsets start just below 2^32, so the first window's low
        // halves wrap within it.
        var log = new FakeLog();
        var ids = new RetainedIds(static id => (ulong)(id[^1] % 7) * 0x9E37_79B9_7F4A_7C15);
        var random = new Random(5);
        var first = (1L << 32) - 3_000;
        var next = first;
        foreach (var window in new[] { 3_000, 10, 5, 1_500, 1, 200 })
        {
            for (var step = 0; step < 6_000; step++)
            {
                ids.Add(log.Store(next, $"m{next}:{random.Next()}"), next);
                next++;
                while (next - first > window)
                {
                    ids.Remove(log.IdBytes(first), first);
                    log.Forget(first);
                    first++;
                }

                if (step % 997 == 0)
                {
                    AssertHolds(ids, log, first, next - 1);
                }
            }

            ids.Shrink();
            AssertHolds(ids, log, first, next - 1);
            Assert.InRange(ids.Capacity, window, Shrinking.Oversized(window));
        }
    }

    [Fact]
    public void A_detached_id_is_found_exactly_after_its_slot_is_gone_and_until_it_expires()
    {
        var log = new FakeLog();
        var ids = new RetainedIds(static _ => 7);
        ids.Add(log.Store(1, "a"), 1);
        ids.Add(log.Store(2, "b"), 2);

        ids.Detach(log.IdBytes(1), 1, expiresAtMs: 100);
        log.Forget(1);

        Assert.True(ids.TryGet("a", log, out var a));
        Assert.Equal(1, a);
        Assert.True(ids.TryGet("b", log, out var b));
        Assert.Equal(2, b);
        ids.ExpireDetached(100);
        Assert.False(ids.TryGet("a", log, out _));
        Assert.Equal(1, ids.Count);
    }

    /// <summary>Every id from <paramref name="from"/> to <paramref name="to"/> is found at its own offset; the one before is not.</summary>
    private static void AssertHolds(RetainedIds ids, FakeLog log, long from, long to)
    {
        for (var offset = from; offset <= to; offset++)
        {
            Assert.True(ids.TryGet(log.Id(offset), log, out var found), $"{log.Id(offset)} at {offset}");
            Assert.Equal(offset, found);
        }

        Assert.Equal(to - from + 1, ids.Count);
    }

    private sealed class FakeLog : IStoredIds
    {
        private readonly SortedDictionary<long, string> _ids = [];

        public long FirstOffset => _ids.Count == 0 ? 1 : _ids.Keys.First();

        public string Store(long offset, string id)
        {
            _ids[offset] = id;
            return id;
        }

        public void Forget(long offset) => _ids.Remove(offset);

        public string Id(long offset) => _ids[offset];

        public byte[] IdBytes(long offset) => Encoding.UTF8.GetBytes(_ids[offset]);

        public ReadOnlySpan<byte> IdAt(long offset) => IdBytes(offset);
    }
}
