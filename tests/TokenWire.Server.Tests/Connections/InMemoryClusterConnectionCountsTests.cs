using TokenWire.Conformance;
using TokenWire.Server.Connections;

namespace TokenWire.Server.Tests.Connections;

/// <summary>The embedded engine against the shared connection-count contract: a single node.</summary>
public sealed class InMemoryClusterConnectionCountsTests : ClusterConnectionCountsConformance
{
    protected override Task<IClusterConnectionCounts> StartNodeAsync(Func<string, int> liveConnections) =>
        Task.FromResult<IClusterConnectionCounts>(new InMemoryClusterConnectionCounts());
}
