using TokenWire.Conformance;
using TokenWire.Server.Push;

namespace TokenWire.Server.Tests.Push;

/// <summary>The embedded engine against the shared push registry contract: one process, so every node is the same registry.</summary>
public sealed class InMemoryPushRegistryTests : PushRegistryConformance
{
    private readonly InMemoryPushRegistry _registry = new();

    protected override Task<IPushRegistry> StartNodeAsync() => Task.FromResult<IPushRegistry>(_registry);
}
