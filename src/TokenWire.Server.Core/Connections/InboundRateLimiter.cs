namespace TokenWire.Server.Connections;

/// <summary>
/// A token bucket for one connection's publishes (<c>maxInboundRate</c>): it holds up to <c>burst</c> messages and
/// refills at <c>ratePerSecond</c>. A publish takes one token per message, all or nothing, so a batch is either
/// accepted whole or rejected whole. Not thread-safe: the transport's read loop is its only caller.
/// </summary>
public sealed class InboundRateLimiter(int ratePerSecond, int burst, TimeProvider time)
{
    private readonly double _capacity = Math.Max(burst, ratePerSecond);
    private double _tokens = Math.Max(burst, ratePerSecond);
    private long _refilledAt = time.GetTimestamp();

    /// <summary>Whether a rate applies at all (0 or less = unlimited).</summary>
    public bool IsLimited => ratePerSecond > 0;

    /// <summary>Takes <paramref name="messages"/> tokens if the bucket holds them; false (taking none) otherwise.</summary>
    public bool TryTake(int messages)
    {
        if (!IsLimited)
        {
            return true;
        }

        var now = time.GetTimestamp();
        _tokens = Math.Min(_capacity, _tokens + (time.GetElapsedTime(_refilledAt, now).TotalSeconds * ratePerSecond));
        _refilledAt = now;
        var cost = Math.Max(1, messages);
        if (_tokens < cost)
        {
            return false;
        }

        _tokens -= cost;
        return true;
    }
}
