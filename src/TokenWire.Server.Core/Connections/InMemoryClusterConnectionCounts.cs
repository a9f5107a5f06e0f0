namespace TokenWire.Server.Connections;

/// <summary>The embedded engine is a single node: nobody else holds connections.</summary>
public sealed class InMemoryClusterConnectionCounts : IClusterConnectionCounts
{
    public int OnOtherNodes(string appId) => 0;
}
