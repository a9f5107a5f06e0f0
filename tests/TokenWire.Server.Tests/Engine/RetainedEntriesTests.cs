using TokenWire.Server.Engine;

namespace TokenWire.Server.Tests.Engine;

/// <summary>The log's segmented entry list on its own: reads across segments, trims that free them, values that do not fit an entry.</summary>
public sealed class RetainedEntriesTests
{
    private const int Segment = RetainedEntries.SegmentEntries;

    [Fact]
    public void Entries_read_back_across_segment_boundaries_and_trimmed_segments_are_let_go()
    {
        var entries = new RetainedEntries();
        var total = (3 * Segment) + 17;
        for (var offset = 1L; offset <= total; offset++)
        {
            entries.Add(LoggedAt(offset), VersionOf(offset), Bytes(offset));
        }

        Assert.Equal(total, entries.Count);
        Assert.Equal(4 * Segment, entries.Capacity);
        AssertHolds(entries);

        while (entries.FirstOffset <= Segment + 1)
        {
            entries.RemoveFirst();
        }

        Assert.Equal(3 * Segment, entries.Capacity); // the first segment is gone once its last entry is trimmed
        AssertHolds(entries);
    }

    [Fact]
    public void A_quiet_log_grows_a_small_segment_and_a_shrink_after_a_burst_keeps_what_is_left_readable()
    {
        var entries = new RetainedEntries();
        entries.Add(LoggedAt(1), 0, Bytes(1));
        Assert.InRange(entries.Capacity, 1, 8);

        for (var offset = 2L; offset <= 5 * Segment; offset++)
        {
            entries.Add(LoggedAt(offset), VersionOf(offset), Bytes(offset));
        }

        while (entries.Count > 30)
        {
            entries.RemoveFirst();
        }

        entries.Shrink();
        Assert.InRange(entries.Capacity, 30, 64);
        AssertHolds(entries);

        // It grows on from there, across segment boundaries again.
        for (var offset = entries.LastOffset + 1; offset <= 8 * Segment; offset++)
        {
            entries.Add(LoggedAt(offset), VersionOf(offset), Bytes(offset));
        }

        AssertHolds(entries);
        while (entries.Count > 0)
        {
            entries.RemoveFirst();
        }

        Assert.Equal(0, entries.Capacity);
        entries.Add(LoggedAt(8 * Segment + 1), 0, Bytes(8 * Segment + 1));
        Assert.Equal(8 * Segment + 1, entries.FirstOffset);
        AssertHolds(entries);
    }

    [Fact]
    public void A_log_time_or_an_original_too_far_back_for_an_entry_is_kept_exactly()
    {
        var entries = new RetainedEntries();
        var start = 1_765_000_000_000L;
        entries.Add(start, 0, Bytes(1));
        entries.Add(start + int.MaxValue + 5L, 0, Bytes(2));        // weeks later, in the same segment
        entries.Add(start + int.MaxValue + 6L, 1, Bytes(3));        // a version of the first
        entries.Add(start + (3L * int.MaxValue), 2, Bytes(4));

        Assert.Equal(start, entries[1].LoggedAt);
        Assert.Equal(start + int.MaxValue + 5L, entries[2].LoggedAt);
        Assert.Equal((start + int.MaxValue + 6L, 1L), (entries[3].LoggedAt, entries[3].VersionOf));
        Assert.Equal(start + (3L * int.MaxValue), entries.LoggedAt(4));
        Assert.True(entries.IsVersion(4));
        Assert.False(entries.IsVersion(2));
        entries.RemoveFirst();
        entries.Shrink();
        Assert.Equal((start + int.MaxValue + 6L, 1L), (entries[3].LoggedAt, entries[3].VersionOf));
        Assert.Equal((byte)4, entries[4].Stored.Span[0]);
    }

    private static void AssertHolds(RetainedEntries entries)
    {
        for (var offset = entries.FirstOffset; offset <= entries.LastOffset; offset++)
        {
            var entry = entries[offset];
            Assert.Equal(LoggedAt(offset), entry.LoggedAt);
            Assert.Equal(LoggedAt(offset), entries.LoggedAt(offset));
            Assert.Equal(VersionOf(offset), entry.VersionOf);
            Assert.Equal(VersionOf(offset) != 0, entries.IsVersion(offset));
            Assert.Equal(Bytes(offset).Span.ToArray(), entry.Stored.Span.ToArray());
        }
    }

    private static long LoggedAt(long offset) => 1_765_000_000_000L + (offset * 3 / 2);

    /// <summary>Every third entry is a version of an original up to 2,000 offsets back.</summary>
    private static long VersionOf(long offset) => offset % 3 == 0 && offset > 2_000 ? offset - (offset % 2_000) - 1 : 0;

    private static StoredBytes Bytes(long offset)
    {
        var bytes = BitConverter.GetBytes(offset);
        return new StoredBytes(bytes, 0, bytes.Length);
    }
}
