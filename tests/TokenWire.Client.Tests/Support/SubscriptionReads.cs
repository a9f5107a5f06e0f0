namespace TokenWire.Client.Tests.Support;

/// <summary>Bounded reads from a subscription's buffer (see <see cref="Wait"/> for every other wait).</summary>
public static class SubscriptionReads
{
    /// <summary>Reads exactly <paramref name="count"/> messages from a subscription's buffer, within the timeout;
    /// the subscription stays open for further reads.</summary>
    public static async Task<List<Protocol.Message>> ReadAsync(this MessageSubscription subscription, int count, TimeSpan? timeout = null)
    {
        using var cancel = new CancellationTokenSource(timeout ?? Wait.Timeout);
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
            throw new TimeoutException($"Timed out after {timeout ?? Wait.Timeout}: received {items.Count} of {count} messages");
        }

        return items;
    }
}
