using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using TokenWire.Server.Configuration;
using TokenWire.Server.Fanout;
using TokenWire.Server.Hosting;

namespace TokenWire.Server.Tests.Hosting;

/// <summary>
/// The trimmer's decisions on a fake clock and a fake GC: each <see cref="FakeTimeProvider.Advance"/> of one check
/// interval runs one check, and the fake GC's counters are what the test says allocation and the heap did meanwhile.
/// </summary>
public sealed class IdleMemoryTrimmerTests
{
    private const long MB = 1024 * 1024;

    private readonly FakeTimeProvider _time = new(DateTimeOffset.UnixEpoch);
    private readonly FakeMemory _gc = new() { Committed = 10 * MB };
    private readonly MemoryOptions _options = new();

    [Fact]
    public async Task A_burst_is_trimmed_once_after_the_quiet_period_and_not_while_it_lasts()
    {
        var trimmer = await StartAsync();

        Burst(seconds: 30, committedTo: 150 * MB);
        Assert.Equal(0, _gc.Collections);

        Quiet(seconds: 5);
        Assert.Equal(0, _gc.Collections); // quiet for 5 s of the 10 s asked

        Quiet(seconds: 5);
        Assert.Equal(1, _gc.Collections);
        Assert.Equal(1, trimmer.Trims);

        Quiet(seconds: 170); // the trim left 12 MB: nothing held for a second look
        Assert.Equal(1, _gc.Collections);
    }

    [Fact]
    public async Task Growth_under_the_threshold_is_left_to_the_gc()
    {
        await StartAsync();

        Burst(seconds: 10, committedTo: 10 * MB + _options.MinimumGrowthBytes - 1);
        Quiet(seconds: 60);

        Assert.Equal(0, _gc.Collections);
    }

    [Fact]
    public async Task Allocation_at_the_quiet_rate_counts_as_quiet_and_above_it_as_busy()
    {
        await StartAsync();
        _gc.Committed = 100 * MB;

        Advance(seconds: 5, allocatedPerSecond: _options.QuietAllocationBytesPerSecond + 1);
        Advance(seconds: 5, allocatedPerSecond: _options.QuietAllocationBytesPerSecond + 1);
        Assert.Equal(0, _gc.Collections);

        Advance(seconds: 5, allocatedPerSecond: _options.QuietAllocationBytesPerSecond);
        Advance(seconds: 5, allocatedPerSecond: _options.QuietAllocationBytesPerSecond);
        Assert.Equal(1, _gc.Collections);
    }

    [Fact]
    public async Task Allocation_resuming_before_the_quiet_period_ends_starts_it_over()
    {
        await StartAsync();
        Burst(seconds: 10, committedTo: 100 * MB);

        Quiet(seconds: 5);
        Burst(seconds: 5, committedTo: 100 * MB);
        Quiet(seconds: 5);
        Assert.Equal(0, _gc.Collections);

        Quiet(seconds: 5);
        Assert.Equal(1, _gc.Collections);
    }

    [Fact]
    public async Task A_second_burst_is_measured_from_what_the_first_trim_left()
    {
        await StartAsync();
        _gc.AfterCollection = 40 * MB; // live data the trim cannot free
        Burst(seconds: 10, committedTo: 100 * MB);
        Quiet(seconds: 10);
        Assert.Equal(1, _gc.Collections);

        Burst(seconds: 10, committedTo: 40 * MB + _options.MinimumGrowthBytes - 1);
        Quiet(seconds: 10);
        Assert.Equal(1, _gc.Collections);

        Burst(seconds: 10, committedTo: 40 * MB + _options.MinimumGrowthBytes);
        Quiet(seconds: 10);
        Assert.Equal(2, _gc.Collections);
    }

    [Fact]
    public async Task Live_data_left_by_a_trim_gets_one_second_look_and_never_a_third()
    {
        await StartAsync();
        _gc.AfterCollection = 60 * MB; // history within its retention, say
        Burst(seconds: 10, committedTo: 200 * MB);
        Quiet(seconds: 10);
        Assert.Equal(1, _gc.Collections);

        Quiet(seconds: (int)IdleMemoryTrimmer.SecondLookAfter.TotalSeconds - 5);
        Assert.Equal(1, _gc.Collections);

        Quiet(seconds: 5);
        Assert.Equal(2, _gc.Collections); // still 60 MB: the data is live for good

        Quiet(seconds: 3600);
        Assert.Equal(2, _gc.Collections);
    }

    [Fact]
    public async Task A_second_look_waits_for_the_server_to_be_quiet_again()
    {
        await StartAsync();
        _gc.AfterCollection = 60 * MB;
        Burst(seconds: 10, committedTo: 70 * MB);
        Quiet(seconds: 10);
        Assert.Equal(1, _gc.Collections);

        Quiet(seconds: (int)IdleMemoryTrimmer.SecondLookAfter.TotalSeconds - 10);
        Burst(seconds: 20, committedTo: 60 * MB);
        Assert.Equal(1, _gc.Collections);

        Quiet(seconds: 10);
        Assert.Equal(2, _gc.Collections);
    }

    [Fact]
    public async Task Nothing_runs_when_turned_off()
    {
        _options.TrimWhenIdle = false;
        await StartAsync();

        Burst(seconds: 10, committedTo: 500 * MB);
        Quiet(seconds: 600);

        Assert.Equal(0, _gc.Collections);
    }

    [Fact]
    public async Task A_trim_first_drops_the_free_socket_buffers_and_leaves_the_ones_in_use()
    {
        var pools = new TrimmableMemoryPoolFactory();
        using var pool = pools.Create();
        var blocks = Enumerable.Range(0, 10).Select(_ => pool.Rent()).ToList();
        foreach (var block in blocks.Skip(2))
        {
            block.Dispose();
        }

        Assert.Equal(8 * 4096, pools.PooledBytes);
        await StartAsync(pools);
        Burst(seconds: 10, committedTo: 100 * MB);
        Quiet(seconds: 5);
        Assert.Equal(8 * 4096, pools.PooledBytes); // not quiet long enough yet

        Quiet(seconds: 5);
        Assert.Equal(1, _gc.Collections);
        Assert.Equal(0, pools.PooledBytes);

        blocks[0].Dispose(); // a block in use at the trim comes back to the pool afterwards
        Assert.Equal(4096, pools.PooledBytes);
    }

    [Fact]
    public async Task A_trim_also_drops_the_free_frame_buffers()
    {
        var frames = new FrameBufferPool();
        var inUse = frames.Rent(4096);
        frames.Return(frames.Rent(65536));
        await StartAsync(frames: frames);
        Burst(seconds: 10, committedTo: 100 * MB);
        Quiet(seconds: 10);

        Assert.Equal(1, _gc.Collections);
        Assert.Equal(0, frames.PooledBytes);
        frames.Return(inUse);
        Assert.Equal(4096, frames.PooledBytes);
    }

    private async Task<IdleMemoryTrimmer> StartAsync(TrimmableMemoryPoolFactory? pools = null, FrameBufferPool? frames = null)
    {
        var trimmer = new IdleMemoryTrimmer(_options, _time, _gc, NullLogger.Instance, pools, frames);
        await trimmer.StartAsync(CancellationToken.None);
        return trimmer;
    }

    private void Burst(int seconds, long committedTo)
    {
        _gc.Committed = committedTo;
        Advance(seconds, allocatedPerSecond: 50 * MB);
    }

    private void Quiet(int seconds) => Advance(seconds, allocatedPerSecond: 0);

    /// <summary>Moves the clock one check interval at a time, the process allocating at the given rate meanwhile.</summary>
    private void Advance(int seconds, long allocatedPerSecond)
    {
        var step = (int)IdleMemoryTrimmer.CheckInterval.TotalSeconds;
        Assert.Equal(0, seconds % step);
        for (var elapsed = 0; elapsed < seconds; elapsed += step)
        {
            _gc.Allocated += allocatedPerSecond * step;
            _time.Advance(IdleMemoryTrimmer.CheckInterval);
        }
    }

    private sealed class FakeMemory : IProcessMemory
    {
        public long Allocated { get; set; }

        public long Committed { get; set; }

        /// <summary>What a collection leaves committed: 12 MB unless a test holds live data.</summary>
        public long AfterCollection { get; set; } = 12 * MB;

        public int Collections { get; private set; }

        long IProcessMemory.AllocatedBytes => Allocated;

        long IProcessMemory.CommittedBytes => Committed;

        void IProcessMemory.Trim()
        {
            Collections++;
            Committed = AfterCollection;
        }
    }
}
