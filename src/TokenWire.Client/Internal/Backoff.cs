namespace TokenWire.Client.Internal;

/// <summary>Retry delays as ably-js computes them (spec RTB1, reference §1.5).</summary>
internal static class Backoff
{
    /// <summary>
    /// <paramref name="timeout"/> × min((attempt + 2) / 3, 2) × a jitter in [0.8, 1.0): the first retries come at the
    /// configured interval, later ones back off to twice it, and jitter keeps a crowd of clients from retrying together.
    /// </summary>
    public static TimeSpan RetryDelay(TimeSpan timeout, int attempt)
    {
        var factor = Math.Min((Math.Max(attempt, 1) + 2) / 3.0, 2.0);
        var jitter = 1.0 - (Random.Shared.NextDouble() * 0.2);
        return timeout * (factor * jitter);
    }
}
