using TokenWire.Conformance;
using TokenWire.Redis.Tests.Support;
using TokenWire.Server.Engine;
using TokenWire.Server.Log;

namespace TokenWire.Redis.Tests.Log;

/// <summary>The Redis engine against the shared mutable-messages contract (mutate.lua and the folding reads).</summary>
[Collection(RedisCollection.Name)]
public sealed class RedisMutableMessageLogTests(RedisServerFixture redis) : MutableMessageLogConformance
{
    protected override IMessageLog CreateLog(TimeProvider time, TimeSpan forgetIdleAfter) =>
        new RedisMessageLog(redis.Redis, new RedisKeys(RedisServerFixture.UniquePrefix()), time, forgetIdleAfter);
}
