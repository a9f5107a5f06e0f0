using TokenWire.Conformance;
using TokenWire.Server.Stats;

namespace TokenWire.Server.Tests.Stats;

/// <summary>The embedded engine against the shared stats contract: one process, so every node is the same store.</summary>
public sealed class InMemoryStatsStoreTests : StatsStoreConformance
{
    private readonly InMemoryStatsStore _store = new(TimeProvider.System);

    protected override Task<IStatsStore> StartNodeAsync() => Task.FromResult<IStatsStore>(_store);
}
