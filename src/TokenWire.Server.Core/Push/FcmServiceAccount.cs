using System.Security.Cryptography;
using System.Text.Json;
using TokenWire.Server.Configuration;

namespace TokenWire.Server.Push;

/// <summary>The Google service account FCM sends as, loaded from <see cref="FcmOptions"/>: its email, RS256 key and token endpoint, and the project.</summary>
public sealed class FcmServiceAccount : IDisposable
{
    private FcmServiceAccount(string clientEmail, string? privateKeyId, RSA key, string projectId, Uri tokenUri, Uri baseUrl)
    {
        ClientEmail = clientEmail;
        PrivateKeyId = privateKeyId;
        Key = key;
        ProjectId = projectId;
        TokenUri = tokenUri;
        BaseUrl = baseUrl;
    }

    public string ClientEmail { get; }

    public string? PrivateKeyId { get; }

    public RSA Key { get; }

    public string ProjectId { get; }

    public Uri TokenUri { get; }

    public Uri BaseUrl { get; }

    /// <summary>The account, or null when FCM is not configured; a <see cref="PushConfigurationException"/> naming what is wrong.</summary>
    public static FcmServiceAccount? Load(FcmOptions options)
    {
        if (!options.IsConfigured)
        {
            return null;
        }

        var json = PushCredentialFiles.Read(options.ServiceAccountJson, options.ServiceAccountPath, "TokenWire:Push:Fcm:ServiceAccountPath");
        string? email, keyId, pem, project, tokenUri;
        try
        {
            using var document = JsonDocument.Parse(json);
            var root = document.RootElement;
            email = Field(root, "client_email");
            keyId = Field(root, "private_key_id");
            pem = Field(root, "private_key");
            project = options.ProjectId is { Length: > 0 } p ? p : Field(root, "project_id");
            tokenUri = options.TokenUri is { Length: > 0 } t ? t : Field(root, "token_uri");
        }
        catch (JsonException ex)
        {
            throw new PushConfigurationException("TokenWire:Push:Fcm service account is not JSON: " + ex.Message, ex);
        }

        if (email is null || pem is null || project is null || tokenUri is null)
        {
            throw new PushConfigurationException("TokenWire:Push:Fcm service account needs client_email, private_key, project_id (or Fcm:ProjectId) and token_uri (or Fcm:TokenUri): use the key file Firebase issues");
        }

        if (!Uri.TryCreate(tokenUri, UriKind.Absolute, out var token) || token.Scheme is not ("https" or "http"))
        {
            throw new PushConfigurationException($"TokenWire:Push:Fcm token_uri '{tokenUri}' is not an http(s) URL");
        }

        if (!Uri.TryCreate(options.EffectiveBaseUrl.OriginalString, UriKind.Absolute, out var baseUrl) || baseUrl.Scheme is not ("https" or "http"))
        {
            throw new PushConfigurationException("TokenWire:Push:Fcm:BaseUrl must be an http(s) URL");
        }

        var key = RSA.Create();
        try
        {
            key.ImportFromPem(pem);
            return new FcmServiceAccount(email, keyId, key, project, token, baseUrl);
        }
        catch (Exception ex) when (ex is ArgumentException or CryptographicException)
        {
            key.Dispose();
            throw new PushConfigurationException("TokenWire:Push:Fcm service account's private_key is not a PEM RSA private key: " + ex.Message, ex);
        }
    }

    private static string? Field(JsonElement root, string name) =>
        root.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String && value.GetString() is { Length: > 0 } s ? s : null;

    public void Dispose() => Key.Dispose();
}
