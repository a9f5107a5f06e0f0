namespace TokenWire.Redis;

/// <param name="Configuration">StackExchange.Redis configuration: <c>host:port</c>, optionally followed by <c>,option=value</c>.</param>
/// <param name="KeyPrefix">Prefix of every key and pub/sub channel; nodes of one cluster must use the same.</param>
public sealed record RedisEngineOptions(string Configuration, string KeyPrefix);
