using TokenWire.Conformance;
using TokenWire.Redis.Tests.Support;
using TokenWire.Server.Engine;
using TokenWire.Server.Log;

namespace TokenWire.Redis.Tests.Log;

/// <summary>The Redis engine against the shared log contract: each test has its own key prefix on one real redis-server.</summary>
[Collection(RedisCollection.Name)]
public sealed class RedisMessageLogTests(RedisServerFixture redis) : MessageLogConformance
{
    protected override IMessageLog CreateLog(TimeProvider time, TimeSpan forgetIdleAfter) =>
        new RedisMessageLog(redis.Redis, new RedisKeys(RedisServerFixture.UniquePrefix()), time, forgetIdleAfter);
}
