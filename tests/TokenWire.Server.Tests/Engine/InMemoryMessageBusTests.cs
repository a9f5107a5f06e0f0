using Microsoft.Extensions.Time.Testing;
using TokenWire.Conformance;
using TokenWire.Server.Engine;

namespace TokenWire.Server.Tests.Engine;

/// <summary>The embedded engine against the shared delivery contract: one process, so every node is the same log and bus.</summary>
public sealed class InMemoryMessageBusTests : MessageBusConformance
{
    private readonly InMemoryMessageLog _log = new(new FakeTimeProvider(), TimeSpan.FromMinutes(5));

    protected override Task<EngineNode> StartNodeAsync() => Task.FromResult(new EngineNode(_log, _log.Bus));

    public override Task DisposeAsync()
    {
        _log.Dispose();
        return Task.CompletedTask;
    }
}
