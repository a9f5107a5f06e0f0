using System.Diagnostics;

namespace TokenWire.Testing;

/// <summary>
/// Bounded waits for every test project: conditions are polled instead of slept on, and every await has a deadline,
/// so a hang fails its test instead of stalling the run.
/// </summary>
public static class Wait
{
    /// <summary>Generous: a bound on a hang, never an expectation about speed (the CI box is busy).</summary>
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    /// <summary>Polls <paramref name="condition"/> until true; fails naming <paramref name="reason"/> after the timeout.</summary>
    public static async Task Eventually(string reason, Func<bool> condition, TimeSpan? timeout = null)
    {
        var limit = timeout ?? Timeout;
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            if (clock.Elapsed > limit)
            {
                throw new TimeoutException($"Timed out after {limit} waiting for: {reason}");
            }

            await Task.Delay(TimeSpan.FromMilliseconds(5));
        }
    }

    /// <summary>As <see cref="Eventually(string, Func{bool}, TimeSpan?)"/> for a condition that must ask something remote.</summary>
    public static async Task Eventually(string reason, Func<Task<bool>> condition, TimeSpan? timeout = null)
    {
        var limit = timeout ?? Timeout;
        var clock = Stopwatch.StartNew();
        while (!await condition())
        {
            if (clock.Elapsed > limit)
            {
                throw new TimeoutException($"Timed out after {limit} waiting for: {reason}");
            }

            await Task.Delay(TimeSpan.FromMilliseconds(20));
        }
    }

    /// <summary>
    /// Waits for work bounded by its own count (<paramref name="work"/>) to complete, however long a loaded box makes
    /// it take, failing only when <paramref name="progress"/> (a count that grows as the work does) stands still for
    /// <paramref name="stall"/>: a bound on a hang, not on the whole run.
    /// </summary>
    public static async Task WhileProgressing(string reason, Task work, Func<long> progress, TimeSpan? stall = null)
    {
        var limit = stall ?? Timeout;
        var last = progress();
        var since = Stopwatch.StartNew();
        while (!work.IsCompleted)
        {
            await Task.WhenAny(work, Task.Delay(TimeSpan.FromMilliseconds(100)));
            var now = progress();
            if (now != last)
            {
                (last, since) = (now, Stopwatch.StartNew());
            }
            else if (since.Elapsed > limit)
            {
                throw new TimeoutException($"No progress for {limit} (stuck at {now}) waiting for: {reason}");
            }
        }

        await work;
    }

    /// <inheritdoc cref="WhileProgressing(string, Task, Func{long}, TimeSpan?)"/>
    public static async Task<T> WhileProgressing<T>(string reason, Task<T> work, Func<long> progress, TimeSpan? stall = null)
    {
        await WhileProgressing(reason, (Task)work, progress, stall);
        return await work;
    }

    public static Task Within(this Task task, TimeSpan? timeout = null) => task.WaitAsync(timeout ?? Timeout);

    public static Task<T> Within<T>(this Task<T> task, TimeSpan? timeout = null) => task.WaitAsync(timeout ?? Timeout);

    public static Task Within(this ValueTask task, TimeSpan? timeout = null) => task.AsTask().WaitAsync(timeout ?? Timeout);

    public static Task<T> Within<T>(this ValueTask<T> task, TimeSpan? timeout = null) => task.AsTask().WaitAsync(timeout ?? Timeout);

    /// <summary>A channel name no other test (or earlier run against the same server) uses.</summary>
    public static string UniqueChannel(string prefix) => $"{prefix}-{Guid.NewGuid():N}";
}
