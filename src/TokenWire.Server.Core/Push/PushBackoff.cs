using TokenWire.Server.Configuration;

namespace TokenWire.Server.Push;

/// <summary>The wait before the retry that follows attempt <c>n</c>: exponential, capped, with "equal jitter" (half fixed, half random).</summary>
public static class PushBackoff
{
    public static TimeSpan Delay(PushRetryOptions retry, int failedAttempt, double? random = null)
    {
        var exponent = Math.Min(failedAttempt - 1, 30);
        var ceiling = Math.Min(retry.InitialBackoff.TotalMilliseconds * Math.Pow(2, exponent), retry.MaxBackoff.TotalMilliseconds);
        return TimeSpan.FromMilliseconds((ceiling / 2) + ((random ?? Random.Shared.NextDouble()) * ceiling / 2));
    }
}
