using Microsoft.Extensions.Diagnostics.HealthChecks;
using StackExchange.Redis;

namespace TokenWire.Redis;

/// <summary>
/// <c>/health</c>: Healthy with the round-trip time while Redis answers; Unhealthy while it cannot be reached (this
/// node then rejects publishes, so a load balancer may take it out of rotation).
/// </summary>
public sealed class RedisHealthCheck(RedisConnection redis) : IHealthCheck
{
    /// <summary>A ping slower than this is reported as Degraded.</summary>
    private static readonly TimeSpan SlowPing = TimeSpan.FromMilliseconds(500);

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        if (!redis.Multiplexer.IsConnected)
        {
            return HealthCheckResult.Unhealthy($"Redis {redis.Description} is unreachable: publishes are rejected until it is back");
        }

        try
        {
            var latency = await redis.Multiplexer.GetDatabase().PingAsync().WaitAsync(TimeSpan.FromSeconds(2), cancellationToken).ConfigureAwait(false);
            var description = $"Redis {redis.Description}: ping {latency.TotalMilliseconds:0.0} ms";
            return latency > SlowPing ? HealthCheckResult.Degraded(description) : HealthCheckResult.Healthy(description);
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            return HealthCheckResult.Unhealthy($"Redis {redis.Description} does not answer: {ex.Message}", ex);
        }
    }
}
