namespace TokenWire.Server.Connections;

/// <summary>
/// Live connections per app on the other nodes of a cluster (engine seam), so
/// <see cref="Configuration.LimitOptions.MaxConnectionsPerApp"/> holds cluster-wide. Asked on every connect, so it answers
/// from memory (no I/O): a scale-out engine refreshes the figures in the background. The embedded engine has no other
/// nodes (<see cref="InMemoryClusterConnectionCounts"/>).
/// </summary>
public interface IClusterConnectionCounts
{
    /// <summary>The app's live connections on every node but this one, as last seen.</summary>
    int OnOtherNodes(string appId);
}
