using TokenWire.Server.Fanout;

namespace TokenWire.Server.Tests.Fanout;

public sealed class FrameBufferPoolTests
{
    [Fact]
    public void Arrays_are_powers_of_two_from_4_KiB()
    {
        var pool = new FrameBufferPool();
        Assert.Equal(4096, pool.Rent(1).Length);
        Assert.Equal(4096, pool.Rent(4096).Length);
        Assert.Equal(8192, pool.Rent(4097).Length);
        Assert.Equal(1 << 20, pool.Rent((1 << 19) + 1).Length);
    }

    [Fact]
    public void A_returned_array_is_rented_again_and_an_array_in_use_never_is()
    {
        var pool = new FrameBufferPool();
        var inUse = pool.Rent(5000);
        var returned = pool.Rent(5000);
        pool.Return(returned);
        Assert.Equal(8192, pool.PooledBytes);

        Assert.Same(returned, pool.Rent(6000));
        var fresh = pool.Rent(6000); // nothing free: a new array, not the one still in use
        Assert.NotSame(inUse, fresh);
        Assert.NotSame(returned, fresh);
        Assert.Equal(0, pool.PooledBytes);
    }

    [Fact]
    public void Each_size_is_kept_apart()
    {
        var pool = new FrameBufferPool();
        pool.Return(pool.Rent(4096));
        Assert.Equal(16384, pool.Rent(10_000).Length); // the free 4 KiB array is too small, and stays
        Assert.Equal(4096, pool.PooledBytes);
    }

    [Fact]
    public void A_trim_drops_every_free_array_and_arrays_in_use_come_back_after_it()
    {
        var pool = new FrameBufferPool();
        var arrays = Enumerable.Range(0, 10).Select(i => pool.Rent(4096 << (i % 3))).ToList();
        foreach (var array in arrays.Skip(2))
        {
            pool.Return(array);
        }

        var free = arrays.Skip(2).Sum(array => (long)array.Length);
        Assert.Equal(free, pool.PooledBytes);
        Assert.Equal(free, pool.Trim());
        Assert.Equal(0, pool.PooledBytes);
        var fresh = pool.Rent(4096);
        Assert.DoesNotContain(arrays, array => ReferenceEquals(array, fresh)); // by reference: xunit compares arrays by content

        pool.Return(arrays[0]); // rented before the trim, returned after it: kept
        Assert.Same(arrays[0], pool.Rent(arrays[0].Length));
    }

    [Fact]
    public void Arrays_over_1_MiB_are_not_kept()
    {
        var pool = new FrameBufferPool();
        var large = pool.Rent((1 << 20) + 1);
        Assert.Equal((1 << 20) + 1, large.Length);
        pool.Return(large);
        pool.Return(new byte[2 << 20]);
        Assert.Equal(0, pool.PooledBytes);
    }

    [Fact]
    public void A_frame_writer_gives_its_arrays_back_when_reset()
    {
        var pool = new FrameBufferPool();
        var writer = new PooledBufferWriter(pool);
        writer.GetSpan(10);
        writer.Advance(10);
        writer.GetSpan(100_000); // grows past the first 4 KiB array
        writer.Advance(100_000);
        Assert.Equal(100_010, writer.WrittenMemory.Length);

        Assert.Equal(4096, pool.PooledBytes); // the first array, returned when the writer grew

        writer.Reset();
        Assert.Equal(4096 + 131_072, pool.PooledBytes);
    }
}
