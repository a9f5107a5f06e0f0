using System.Runtime.InteropServices;

namespace TokenWire.Server.Hosting;

/// <summary>The process's memory as <see cref="IdleMemoryTrimmer"/> sees it (a fake in its tests).</summary>
internal interface IProcessMemory
{
    /// <summary>Bytes allocated on the managed heap so far (only ever grows).</summary>
    long AllocatedBytes { get; }

    /// <summary>Memory the GC had committed (heap, free space, bookkeeping) when its last collection ended.</summary>
    long CommittedBytes { get; }

    /// <summary>Gives what is free back to the OS: the managed heap's, then the C heap's.</summary>
    void Trim();
}

internal sealed class ProcessMemory : IProcessMemory
{
    public static readonly ProcessMemory Instance = new();

    /// <summary>False once <c>malloc_trim</c> turned out to be missing (not Linux, or not glibc: musl on Alpine).</summary>
    private volatile bool _trimCHeap = OperatingSystem.IsLinux();

    // Not precise: to within an allocation context per thread (a few KB), which is plenty for a rate.
    public long AllocatedBytes => GC.GetTotalAllocatedBytes(precise: false);

    public long CommittedBytes => GC.GetGCMemoryInfo().TotalCommittedBytes;

    public void Trim()
    {
        // A normal full collection frees the objects but keeps the emptied regions committed for the next allocations;
        // Aggressive also decommits them (it must be blocking and compacting).
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);

        // glibc keeps what the runtime and native code free()d (its thread arenas grow with a burst's sockets and JIT
        // work) for later mallocs; malloc_trim returns their free pages. Measured after a slow-consumer burst: the
        // arenas' resident memory from 12.4 MB back to 4.4 MB (docs/benchmarks.md, "Memory after a burst").
        if (_trimCHeap)
        {
            try
            {
                _ = MallocTrim(0);
            }
            catch (Exception ex) when (ex is DllNotFoundException or EntryPointNotFoundException)
            {
                _trimCHeap = false;
            }
        }
    }

    [DllImport("libc.so.6", EntryPoint = "malloc_trim")]
    private static extern int MallocTrim(nuint pad);
}
