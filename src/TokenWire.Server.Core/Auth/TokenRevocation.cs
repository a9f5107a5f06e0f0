namespace TokenWire.Server.Auth;

/// <summary>
/// Tokens matching <see cref="Target"/> issued before <see cref="IssuedBefore"/> are refused from
/// <see cref="AppliesAt"/> on (both Unix ms; <c>AppliesAt</c> is later by Ably's reauth margin when one was asked for).
/// </summary>
public sealed record TokenRevocation(RevocationTarget Target, long IssuedBefore, long AppliesAt)
{
    /// <summary>
    /// The revocation in force after <paramref name="other"/> for the same target is recorded too: the later
    /// <c>issuedBefore</c> covers every token the earlier one did, so it wins; on a tie the earlier <c>appliesAt</c>.
    /// Every store merges with this rule, so nodes applying the same revocations in any order agree.
    /// </summary>
    public TokenRevocation Merge(TokenRevocation other) =>
        other.IssuedBefore > IssuedBefore || (other.IssuedBefore == IssuedBefore && other.AppliesAt < AppliesAt) ? other : this;
}
