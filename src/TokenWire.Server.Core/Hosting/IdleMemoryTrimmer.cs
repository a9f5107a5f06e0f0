using System.Diagnostics;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using TokenWire.Server.Configuration;
using TokenWire.Server.Fanout;

namespace TokenWire.Server.Hosting;

/// <summary>
/// Gives memory back once a burst is over (issue #14 item 5: slow consumers, publish floods, connection storms).
/// <para>
/// Why the GC alone does not: it collects only when allocation fills its budget, so once a burst stops nothing is
/// collected any more. The burst's garbage (frames, queues, closed connections) stays on the heap and the heap grown
/// for it stays committed: measured, a server idle at 90 MB stayed at its 157 MB peak for as long as it was watched.
/// A full collection frees the objects but keeps emptied regions committed for later allocations; only
/// <see cref="GCCollectionMode.Aggressive"/> decommits them (<see cref="ProcessMemory.Trim"/>, which also trims the C
/// heap). No GC setting collects when the process goes quiet: <c>GCConserveMemory</c> and <c>RetainVM</c> only change
/// what a collection does, and workstation GC (the host's) is already the frugal mode.
/// </para>
/// <para>
/// So every <see cref="CheckInterval"/> this reads two counters: the bytes allocated so far and the GC's committed
/// memory. Once allocation has stayed under <see cref="MemoryOptions.QuietAllocationBytesPerSecond"/> for
/// <see cref="MemoryOptions.QuietPeriod"/> and committed memory is <see cref="MemoryOptions.MinimumGrowthBytes"/> above
/// what the previous trim left (or the lowest seen since), it trims once. What the trim leaves is the new reference,
/// so a quiet server is trimmed once per burst, not on every check.
/// </para>
/// <para>
/// And one second look. What is live at the trim may be held only for a while: a channel's history for its retention,
/// a dropped connection's state for its TTL (two minutes each by default), and the blocks Kestrel's memory pool evicts
/// a few percent at a time every 10 s. Once released they are garbage that nothing collects while the server stays
/// quiet. So when a trim leaves more than the growth threshold above the lowest level seen, one more runs
/// <see cref="SecondLookAfter"/> later if the server is quiet then; never a third, so a server that simply holds more
/// live data (many idle connections) pays two collections per burst, not one per interval.
/// </para>
/// </summary>
internal sealed partial class IdleMemoryTrimmer : IHostedService, IDisposable
{
    /// <summary>How often the counters are read: two reads every 5 s cost nothing, and add at most 5 s to the trim.</summary>
    internal static readonly TimeSpan CheckInterval = TimeSpan.FromSeconds(5);

    /// <summary>Past the in-memory engine's default windows (history and connection state, 2 min): what they held has expired.</summary>
    internal static readonly TimeSpan SecondLookAfter = TimeSpan.FromMinutes(3);

    private readonly MemoryOptions _options;
    private readonly TimeProvider _time;
    private readonly IProcessMemory _memory;
    private readonly TrimmableMemoryPoolFactory? _pools;
    private readonly FrameBufferPool? _frames;
    private readonly ILogger _logger;
    private readonly Lock _checking = new();
    private ITimer? _timer;

    private long _allocatedAtLastCheck;
    private DateTimeOffset _lastCheck;

    /// <summary>Start of the current quiet stretch; null while allocating.</summary>
    private DateTimeOffset? _quietSince;

    /// <summary>Committed bytes the last trim left, or lower if the GC has given memory back by itself since.</summary>
    private long _reference;

    /// <summary>The lowest committed bytes seen: what the server needs when it holds nothing a burst left.</summary>
    private long _lowest;

    /// <summary>When the one second look is due, after a trim that left live data above <see cref="_lowest"/>.</summary>
    private DateTimeOffset? _secondLookAt;

    public IdleMemoryTrimmer(IOptions<TokenWireOptions> options, TimeProvider time, IEnumerable<IMemoryPoolFactory<byte>> pools, ILogger<IdleMemoryTrimmer> logger)
        : this(options.Value.Memory, time, ProcessMemory.Instance, logger, pools.OfType<TrimmableMemoryPoolFactory>().LastOrDefault(), FrameBufferPool.Shared)
    {
    }

    /// <param name="pools">Kestrel's block pools, emptied of free blocks before each trim; null when the host kept its own.</param>
    /// <param name="frames">The egress's and read loops' frame buffers, emptied of free arrays before each trim.</param>
    internal IdleMemoryTrimmer(MemoryOptions options, TimeProvider time, IProcessMemory memory, ILogger logger, TrimmableMemoryPoolFactory? pools = null, FrameBufferPool? frames = null)
    {
        _options = options;
        _time = time;
        _memory = memory;
        _pools = pools;
        _frames = frames;
        _logger = logger;
    }

    /// <summary>Aggressive collections run so far.</summary>
    internal int Trims { get; private set; }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (_options.TrimWhenIdle)
        {
            _allocatedAtLastCheck = _memory.AllocatedBytes;
            _lastCheck = _time.GetUtcNow();
            _reference = _lowest = _memory.CommittedBytes;
            _timer = _time.CreateTimer(_ => Check(), null, CheckInterval, CheckInterval);
        }

        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        _timer?.Dispose();
        return Task.CompletedTask;
    }

    public void Dispose() => _timer?.Dispose();

    internal void Check()
    {
        // A trim can outlast the interval (its pause grows with the live heap): a check that finds one running skips.
        if (!_checking.TryEnter())
        {
            return;
        }

        try
        {
            var now = _time.GetUtcNow();
            var allocated = _memory.AllocatedBytes;
            var seconds = Math.Max((now - _lastCheck).TotalSeconds, 0.001);
            var quiet = (allocated - _allocatedAtLastCheck) / seconds <= _options.QuietAllocationBytesPerSecond;
            _quietSince = quiet ? _quietSince ?? _lastCheck : null;
            _allocatedAtLastCheck = allocated;
            _lastCheck = now;

            var committed = _memory.CommittedBytes;
            _reference = Math.Min(_reference, committed);
            _lowest = Math.Min(_lowest, committed);
            if (_quietSince is not { } since || now - since < _options.QuietPeriod)
            {
                return;
            }

            var grown = committed - _reference >= _options.MinimumGrowthBytes;
            var secondLook = _secondLookAt is { } due && now >= due;
            if (grown || secondLook)
            {
                Trim(committed, now, secondLook && !grown);
            }
        }
        finally
        {
            _checking.Exit();
        }
    }

    private void Trim(long before, DateTimeOffset now, bool secondLook)
    {
        var started = Stopwatch.GetTimestamp();
        var pooled = (_pools?.Trim() ?? 0) + (_frames?.Trim() ?? 0);
        _memory.Trim();
        var elapsed = Stopwatch.GetElapsedTime(started);
        var after = _memory.CommittedBytes;
        Trims++;
        _reference = after;
        _lowest = Math.Min(_lowest, after);
        _secondLookAt = !secondLook && after - _lowest >= _options.MinimumGrowthBytes ? now + SecondLookAfter : null;
        if (secondLook)
        {
            TrimmedAgain(_logger, before >> 20, after >> 20, pooled >> 20, elapsed.TotalMilliseconds);
        }
        else
        {
            Trimmed(_logger, before >> 20, after >> 20, pooled >> 20, elapsed.TotalMilliseconds);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Quiet after a burst: GC committed memory {BeforeMb} MB -> {AfterMb} MB ({PooledMb} MB of free socket and frame buffers dropped), in a {PauseMs:0} ms collection")]
    private static partial void Trimmed(ILogger logger, long beforeMb, long afterMb, long pooledMb, double pauseMs);

    [LoggerMessage(Level = LogLevel.Information, Message = "Still quiet, second look: GC committed memory {BeforeMb} MB -> {AfterMb} MB ({PooledMb} MB of free socket and frame buffers dropped), in a {PauseMs:0} ms collection")]
    private static partial void TrimmedAgain(ILogger logger, long beforeMb, long afterMb, long pooledMb, double pauseMs);
}
