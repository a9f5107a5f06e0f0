using System.Security.Cryptography;
using TokenWire.Server.Configuration;

namespace TokenWire.Server.Push;

/// <summary>APNs' token-auth credentials as loaded from <see cref="ApnsOptions"/>: the P-256 signing key and the ids that go with it.</summary>
public sealed class ApnsCredentials : IDisposable
{
    private ApnsCredentials(ECDsa key, string keyId, string teamId, string bundleId, Uri baseUrl)
    {
        Key = key;
        KeyId = keyId;
        TeamId = teamId;
        BundleId = bundleId;
        BaseUrl = baseUrl;
    }

    public ECDsa Key { get; }

    public string KeyId { get; }

    public string TeamId { get; }

    public string BundleId { get; }

    public Uri BaseUrl { get; }

    /// <summary>The credentials, or null when APNs is not configured; a <see cref="PushConfigurationException"/> naming what is wrong.</summary>
    public static ApnsCredentials? Load(ApnsOptions options)
    {
        if (!options.IsConfigured)
        {
            return null;
        }

        var missing = new List<string>();
        if (string.IsNullOrEmpty(options.KeyPath) && string.IsNullOrEmpty(options.Key))
        {
            missing.Add("KeyPath (or Key)");
        }

        if (string.IsNullOrEmpty(options.KeyId))
        {
            missing.Add("KeyId");
        }

        if (string.IsNullOrEmpty(options.TeamId))
        {
            missing.Add("TeamId");
        }

        if (string.IsNullOrEmpty(options.BundleId))
        {
            missing.Add("BundleId");
        }

        if (missing.Count > 0)
        {
            throw new PushConfigurationException($"TokenWire:Push:Apns is incomplete: set {string.Join(", ", missing)}");
        }

        if (!Uri.TryCreate(options.EffectiveBaseUrl.OriginalString, UriKind.Absolute, out var baseUrl) || baseUrl.Scheme is not ("https" or "http"))
        {
            throw new PushConfigurationException("TokenWire:Push:Apns:BaseUrl must be an http(s) URL");
        }

        var pem = PushCredentialFiles.Read(options.Key, options.KeyPath, "TokenWire:Push:Apns:KeyPath");
        var key = ECDsa.Create();
        try
        {
            key.ImportFromPem(pem);
            if (key.KeySize != 256 || key.ExportParameters(includePrivateParameters: false).Curve.Oid.Value != ECCurve.NamedCurves.nistP256.Oid.Value)
            {
                throw new PushConfigurationException("TokenWire:Push:Apns key is not a P-256 (ES256) key: use the .p8 file Apple issued");
            }

            return new ApnsCredentials(key, options.KeyId!, options.TeamId!, options.BundleId!, baseUrl);
        }
        catch (Exception ex) when (ex is ArgumentException or CryptographicException)
        {
            key.Dispose();
            throw new PushConfigurationException("TokenWire:Push:Apns key is not a PEM PKCS#8 EC private key (the .p8 file Apple issued): " + ex.Message, ex);
        }
        catch
        {
            key.Dispose();
            throw;
        }
    }

    public void Dispose() => Key.Dispose();
}
