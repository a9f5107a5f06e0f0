using TokenWire.Conformance;
using TokenWire.Redis.Tests.Support;
using TokenWire.Server.Engine;

namespace TokenWire.Redis.Tests.Log;

/// <summary>The Redis engine against the shared delivery contract: each node its own multiplexer, log and bus.</summary>
[Collection(RedisCollection.Name)]
public sealed class RedisMessageBusTests(RedisServerFixture redis) : MessageBusConformance
{
    private readonly RedisNodes _nodes = new(redis);

    protected override async Task<EngineNode> StartNodeAsync()
    {
        var link = await _nodes.ConnectAsync();
        return new EngineNode(new RedisMessageLog(link, _nodes.Keys, TimeProvider.System, TimeSpan.FromMinutes(5)), new RedisMessageBus(link, _nodes.Keys));
    }

    public override async Task DisposeAsync() => await _nodes.DisposeAsync();
}
