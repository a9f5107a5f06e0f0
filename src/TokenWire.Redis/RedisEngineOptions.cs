namespace TokenWire.Redis;

/// <param name="Configuration">StackExchange.Redis configuration: <c>host:port</c>, optionally followed by <c>,option=value</c>.</param>
/// <param name="KeyPrefix">Prefix of every key and pub/sub channel; nodes of one cluster must use the same.</param>
public sealed record RedisEngineOptions(string Configuration, string KeyPrefix)
{
    /// <summary>
    /// How long a node's heartbeat outlives its last renewal (renewed every third of it). A node silent this long is
    /// dead: other nodes remove its presence members. Shorter removes them sooner, longer tolerates longer stalls.
    /// </summary>
    public TimeSpan NodeTtl { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Channels with presence members each node's sweep looks at per tick (one tick every half <see cref="NodeTtl"/>).</summary>
    public int PresenceSweepBatch { get; init; } = 100;
}
