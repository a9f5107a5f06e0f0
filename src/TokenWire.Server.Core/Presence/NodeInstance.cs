using System.Security.Cryptography;
using TokenWire.Server.Configuration;

namespace TokenWire.Server.Presence;

/// <summary>
/// This process's identity among the nodes of a cluster: a random id made at start, so two processes never share one
/// even with the same <see cref="TokenWireOptions.ServerId"/> (a restarted node is a new instance). Presence owners
/// carry it, so an engine can tell which node holds a member and whether that node is still alive.
/// </summary>
public sealed class NodeInstance
{
    public NodeInstance()
        : this(RandomNumberGenerator.GetHexString(12, lowercase: true))
    {
    }

    /// <param name="id">Letters and digits only: owners are <c>{id}/{connectionId}</c>.</param>
    public NodeInstance(string id)
    {
        ArgumentException.ThrowIfNullOrEmpty(id);
        Id = id;
    }

    public string Id { get; }

    /// <summary>The node part of an owner made by <see cref="PresenceService.OwnerOf"/>, or null when it has none.</summary>
    public static string? OfOwner(string owner)
    {
        var slash = owner.IndexOf('/');
        return slash > 0 ? owner[..slash] : null;
    }
}
