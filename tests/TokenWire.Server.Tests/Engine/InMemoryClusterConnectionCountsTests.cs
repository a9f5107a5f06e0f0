using TokenWire.Conformance;
using TokenWire.Server.Engine;

namespace TokenWire.Server.Tests.Engine;

/// <summary>The embedded engine against the shared connection-count contract: a single node.</summary>
public sealed class InMemoryClusterConnectionCountsTests : ClusterConnectionCountsConformance
{
    protected override Task<IClusterConnectionCounts> StartNodeAsync(Func<string, int> liveConnections) =>
        Task.FromResult<IClusterConnectionCounts>(new InMemoryClusterConnectionCounts());
}
