using System.Collections.Concurrent;
using System.Diagnostics.CodeAnalysis;

namespace TokenWire.Server.Auth;

/// <summary>
/// The embedded engine's revocation list: this process only. Entries are kept for the life of the process (one per
/// revoked target, written only by Basic-auth requests with the key; JWTs may live longer than TokenWire's own
/// tokens, so there is no age after which an entry is safe to forget).
/// </summary>
public sealed class InMemoryTokenRevocationStore : ITokenRevocationStore
{
    private readonly ConcurrentDictionary<RevocationTarget, TokenRevocation> _byTarget = new();

    public event Action<TokenRevocation>? Revoked;

    public bool IsEmpty => _byTarget.IsEmpty;

    public ValueTask<TokenRevocation> RevokeAsync(TokenRevocation revocation, CancellationToken cancellationToken = default)
    {
        var existing = _byTarget.GetValueOrDefault(revocation.Target);
        var merged = _byTarget.AddOrUpdate(revocation.Target, revocation, (_, current) => current.Merge(revocation));
        if (merged != existing)
        {
            Revoked?.Invoke(merged);
        }

        return ValueTask.FromResult(merged);
    }

    public bool TryGet(RevocationTarget target, [NotNullWhen(true)] out TokenRevocation? revocation) => _byTarget.TryGetValue(target, out revocation);
}
