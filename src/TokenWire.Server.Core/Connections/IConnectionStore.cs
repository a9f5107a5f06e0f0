namespace TokenWire.Server.Connections;

/// <summary>
/// Where resumable connection state lives. The embedded engine keeps it in this node's memory
/// (<see cref="InMemoryConnectionStore"/>); a scale-out engine shares it, so a client whose node died can resume on any other.
/// <list type="bullet">
/// <item><see cref="AddAsync"/> is called whenever a transport is bound to a connection on this node (new or resumed):
/// the connection is live here, and its state is kept without expiry.</item>
/// <item><see cref="MarkDisconnectedAsync"/> starts the <c>connectionStateTtl</c> countdown; after it the key is
/// expired (a tombstone, for as long again: a late resume is told 80008 rather than 80018). A shared store ignores it
/// when another node has taken the connection over meanwhile.</item>
/// <item><see cref="FindAsync"/> returns the connection while its state is kept: this node's own object when it has
/// one, otherwise one rebuilt from the shared state (same id and key, app and clientId).</item>
/// </list>
/// A shared store may be unreachable: its methods then throw, and callers refuse the operation with a retriable error.
/// </summary>
public interface IConnectionStore
{
    ValueTask<RealtimeConnection?> FindAsync(string key, CancellationToken cancellationToken = default);

    /// <summary>True when the key belonged to a connection whose state has expired (80008).</summary>
    ValueTask<bool> IsExpiredAsync(string key, CancellationToken cancellationToken = default);

    ValueTask AddAsync(RealtimeConnection connection, CancellationToken cancellationToken = default);

    ValueTask MarkDisconnectedAsync(RealtimeConnection connection, DateTimeOffset at, CancellationToken cancellationToken = default);

    /// <summary>Forgets a connection at once (client CLOSE).</summary>
    ValueTask RemoveAsync(RealtimeConnection connection, CancellationToken cancellationToken = default);
}
