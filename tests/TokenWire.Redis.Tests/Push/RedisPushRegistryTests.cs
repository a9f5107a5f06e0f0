using TokenWire.Conformance;
using TokenWire.Redis.Tests.Support;
using TokenWire.Server.Push;

namespace TokenWire.Redis.Tests.Push;

/// <summary>Push registrations shared by nodes (each its own multiplexer, as separate processes) against the shared contract.</summary>
[Collection(RedisCollection.Name)]
public sealed class RedisPushRegistryTests(RedisServerFixture redis) : PushRegistryConformance
{
    private readonly RedisNodes _nodes = new(redis);

    protected override async Task<IPushRegistry> StartNodeAsync() => new RedisPushRegistry(await _nodes.ConnectAsync(), _nodes.Keys);

    public override async Task DisposeAsync() => await _nodes.DisposeAsync();
}
