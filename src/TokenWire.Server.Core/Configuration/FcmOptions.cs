namespace TokenWire.Server.Configuration;

/// <summary>
/// Firebase Cloud Messaging, HTTP v1 API (<c>TokenWire:Push:Fcm</c>): a service account's JSON key
/// (<see cref="ServiceAccountPath"/> or inline in <see cref="ServiceAccountJson"/>) whose project receives the sends.
/// Off while neither is set.
/// </summary>
public sealed class FcmOptions
{
    /// <summary>Path of the service account key file Firebase's console downloads.</summary>
    public string? ServiceAccountPath { get; set; }

    /// <summary>The key file's JSON itself, instead of <see cref="ServiceAccountPath"/>.</summary>
    public string? ServiceAccountJson { get; set; }

    /// <summary>The Firebase project; the service account's <c>project_id</c> when not set.</summary>
    public string? ProjectId { get; set; }

    /// <summary>Replaces <c>https://fcm.googleapis.com</c>; <c>http://</c> (HTTP/2 without TLS) only for tests.</summary>
    public string? BaseUrl { get; set; }

    /// <summary>Replaces the service account's <c>token_uri</c> (where the OAuth2 access token is obtained).</summary>
    public string? TokenUri { get; set; }

    public bool IsConfigured => !string.IsNullOrEmpty(ServiceAccountPath) || !string.IsNullOrEmpty(ServiceAccountJson);

    public Uri EffectiveBaseUrl => new(BaseUrl is { Length: > 0 } url ? url : "https://fcm.googleapis.com");
}
