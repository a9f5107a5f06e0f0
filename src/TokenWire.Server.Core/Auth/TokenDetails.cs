namespace TokenWire.Server.Auth;

/// <summary>Ably TokenDetails (spec TD): what <c>requestToken</c> returns. The SDK recognises it by <c>issued</c>.</summary>
public sealed record TokenDetails(string Token, string KeyName, long Issued, long Expires, string Capability, string? ClientId);
