namespace TokenWire.Server.Configuration;

/// <summary>
/// Retries of a delivery that failed transiently (the push service unreachable, 429, 5xx): exponential backoff from
/// <see cref="InitialBackoff"/>, doubling up to <see cref="MaxBackoff"/>, each delay jittered to between half and all
/// of it so a burst of failures does not retry in step; given up after <see cref="MaxAttempts"/> attempts or once the
/// next retry would start later than <see cref="MaxRetryDuration"/> after the first.
/// </summary>
public sealed class PushRetryOptions
{
    /// <summary>Attempts in all, the first included; 1 turns retries off.</summary>
    public int MaxAttempts { get; set; } = 5;

    public TimeSpan InitialBackoff { get; set; } = TimeSpan.FromSeconds(1);

    public TimeSpan MaxBackoff { get; set; } = TimeSpan.FromSeconds(30);

    public TimeSpan MaxRetryDuration { get; set; } = TimeSpan.FromMinutes(2);
}
