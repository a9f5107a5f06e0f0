using System.Diagnostics;

namespace TokenWire.Client.Tests.Support;

/// <summary>Bounded waits: every await in these tests has a deadline, and conditions are polled instead of slept on.</summary>
public static class Wait
{
    public static readonly TimeSpan Default = TimeSpan.FromSeconds(20);

    /// <summary>Polls <paramref name="condition"/> until true; fails with <paramref name="what"/> after the timeout.</summary>
    public static async Task UntilAsync(Func<bool> condition, string what, TimeSpan? timeout = null)
    {
        var limit = timeout ?? Default;
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            if (clock.Elapsed > limit)
            {
                throw new TimeoutException($"Timed out after {limit} waiting until {what}");
            }

            await Task.Delay(10);
        }
    }

    public static Task Within(this Task task, TimeSpan? timeout = null) => task.WaitAsync(timeout ?? Default);

    public static Task<T> Within<T>(this Task<T> task, TimeSpan? timeout = null) => task.WaitAsync(timeout ?? Default);

    /// <summary>Reads exactly <paramref name="count"/> messages from a subscription's buffer, within the timeout;
    /// the subscription stays open for further reads.</summary>
    public static async Task<List<Protocol.Message>> ReadAsync(this MessageSubscription subscription, int count, TimeSpan? timeout = null)
    {
        using var cancel = new CancellationTokenSource(timeout ?? Default);
        var items = new List<Protocol.Message>(count);
        try
        {
            while (items.Count < count)
            {
                items.Add(await subscription.Reader.ReadAsync(cancel.Token));
            }
        }
        catch (OperationCanceledException) when (cancel.IsCancellationRequested)
        {
            throw new TimeoutException($"Timed out after {timeout ?? Default}: received {items.Count} of {count} messages");
        }

        return items;
    }

    public static string UniqueChannel(string prefix) => $"{prefix}-{Guid.NewGuid():N}";
}
