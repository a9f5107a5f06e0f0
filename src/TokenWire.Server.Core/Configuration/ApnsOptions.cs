namespace TokenWire.Server.Configuration;

/// <summary>
/// Apple Push Notification service (<c>TokenWire:Push:Apns</c>), token-based: the <c>.p8</c> signing key from the
/// Apple developer account (<see cref="KeyPath"/> or the PEM inline in <see cref="Key"/>), its key id, the team id
/// and the app's bundle id (the <c>apns-topic</c>). Off while none of them is set; set any and all are required.
/// </summary>
public sealed class ApnsOptions
{
    /// <summary>Path of the <c>AuthKey_XXXXXXXXXX.p8</c> file (a PKCS#8 P-256 private key, PEM).</summary>
    public string? KeyPath { get; set; }

    /// <summary>The <c>.p8</c> file's PEM text itself, instead of <see cref="KeyPath"/> (e.g. from a secret store).</summary>
    public string? Key { get; set; }

    /// <summary>The key's 10-character id (the JWT's <c>kid</c>).</summary>
    public string? KeyId { get; set; }

    /// <summary>The 10-character team id (the JWT's <c>iss</c>).</summary>
    public string? TeamId { get; set; }

    /// <summary>The app's bundle id: every notification's <c>apns-topic</c>.</summary>
    public string? BundleId { get; set; }

    /// <summary>Apple's development environment (<c>api.sandbox.push.apple.com</c>) rather than production.</summary>
    public bool Sandbox { get; set; }

    /// <summary>Replaces the host Apple's environments use; <c>http://</c> (HTTP/2 without TLS) only for tests.</summary>
    public string? BaseUrl { get; set; }

    public bool IsConfigured => !string.IsNullOrEmpty(KeyPath) || !string.IsNullOrEmpty(Key) || !string.IsNullOrEmpty(KeyId)
        || !string.IsNullOrEmpty(TeamId) || !string.IsNullOrEmpty(BundleId);

    public Uri EffectiveBaseUrl => new(BaseUrl is { Length: > 0 } url ? url : Sandbox ? "https://api.sandbox.push.apple.com" : "https://api.push.apple.com");
}
