using System.Diagnostics;

namespace TokenWire.Conformance;

/// <summary>Bounded polling instead of sleeps, and one timeout for every await in a test.</summary>
public static class Wait
{
    /// <summary>Generous: a bound on a hang, never an expectation about speed.</summary>
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    public static async Task Eventually(string reason, Func<bool> condition)
    {
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            if (clock.Elapsed > Timeout)
            {
                Assert.Fail($"Timed out waiting for: {reason}");
            }

            await Task.Delay(TimeSpan.FromMilliseconds(5));
        }
    }

    public static Task<T> Within<T>(this Task<T> task) => task.WaitAsync(Timeout);

    public static Task Within(this Task task) => task.WaitAsync(Timeout);

    public static Task<T> Within<T>(this ValueTask<T> task) => task.AsTask().WaitAsync(Timeout);

    public static Task Within(this ValueTask task) => task.AsTask().WaitAsync(Timeout);
}
