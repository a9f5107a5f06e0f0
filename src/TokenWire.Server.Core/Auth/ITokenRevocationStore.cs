using System.Diagnostics.CodeAnalysis;

namespace TokenWire.Server.Auth;

/// <summary>
/// Where revocations live (engine seam). Every token check on every connect and REST request asks
/// <see cref="TryGet"/>, so it must answer from memory; <see cref="RevokeAsync"/> may do I/O. A scale-out store keeps
/// a local replica of a shared list and raises <see cref="Revoked"/> on every node for a revocation recorded on any
/// of them, which is how every node's live connections using a revoked token are found and closed.
/// </summary>
public interface ITokenRevocationStore
{
    /// <summary>Records a revocation (merged with an existing one for the target, see <see cref="TokenRevocation.Merge"/>); returns the one now in force.</summary>
    ValueTask<TokenRevocation> RevokeAsync(TokenRevocation revocation, CancellationToken cancellationToken = default);

    /// <summary>The revocation in force for <paramref name="target"/>, from memory (no I/O).</summary>
    bool TryGet(RevocationTarget target, [NotNullWhen(true)] out TokenRevocation? revocation);

    /// <summary>No revocation at all: lets token checks skip the lookups.</summary>
    bool IsEmpty { get; }

    /// <summary>A revocation was recorded or widened, on this node or (scale-out) another. Raised once per change.</summary>
    event Action<TokenRevocation>? Revoked;
}
