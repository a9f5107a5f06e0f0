namespace TokenWire.Server.Configuration;

/// <summary>
/// Giving memory back after a burst (<c>TokenWire:Memory</c>): see <c>Hosting/IdleMemoryTrimmer</c> for why the GC
/// alone does not.
/// </summary>
public sealed class MemoryOptions
{
    /// <summary>
    /// Once allocation has gone quiet after the GC's memory grew by <see cref="MinimumGrowthBytes"/>, give the burst's
    /// garbage and free heap back to the OS (an aggressive full collection, then the C heap's free pages). Costs a
    /// blocking, compacting collection per burst, two when live data remains (a pause that grows with the live heap,
    /// docs/benchmarks.md "Memory after a burst"), taken while the server is quiet. False leaves it to the GC, which
    /// keeps the peak until allocation resumes.
    /// </summary>
    public bool TrimWhenIdle { get; set; } = true;

    /// <summary>How long allocation must stay below <see cref="QuietAllocationBytesPerSecond"/> before the trim.</summary>
    public TimeSpan QuietPeriod { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Allocation rate under which the server counts as quiet. 1 MiB/s is above what idle connections cost (15,000 of
    /// them with heartbeats allocate well under it) and far below any real traffic burst.
    /// </summary>
    public long QuietAllocationBytesPerSecond { get; set; } = 1024 * 1024;

    /// <summary>
    /// Growth of the GC's committed memory, over what the previous trim left, that is worth a trim: 16 MiB is about a
    /// sixth of an idle server's resident set; less is not worth a full blocking collection.
    /// </summary>
    public long MinimumGrowthBytes { get; set; } = 16 * 1024 * 1024;
}
