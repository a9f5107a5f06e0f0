using System.Collections.Concurrent;

namespace TokenWire.Server.Connections;

/// <summary>
/// This node's comet transports by the connection key their client puts in the recv/send URLs (the key of its
/// CONNECTED). A key this node does not hold — the connection lives on another node, or ended — finds nothing: the
/// client is told to reconnect, and its resume finds the connection wherever the store has it.
/// </summary>
public sealed class CometTransports
{
    private readonly ConcurrentDictionary<string, CometTransport> _byKey = new(StringComparer.Ordinal);

    internal void Add(CometTransport transport) => _byKey[transport.Key] = transport;

    internal void Remove(CometTransport transport) => _byKey.TryRemove(KeyValuePair.Create(transport.Key, transport));

    /// <summary>The live transport for <paramref name="key"/>, or null.</summary>
    internal CometTransport? Find(string key) => _byKey.TryGetValue(key, out var transport) && !transport.IsEnded ? transport : null;
}
