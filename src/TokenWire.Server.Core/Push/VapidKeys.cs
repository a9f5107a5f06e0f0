using System.Buffers.Text;
using System.Security.Cryptography;
using TokenWire.Server.Configuration;

namespace TokenWire.Server.Push;

/// <summary>
/// Checks the configured VAPID identity before the server starts, so a bad key is not first found by a failed
/// delivery: a P-256 key pair in base64url whose halves belong together, and a <c>mailto:</c> or <c>https:</c>
/// subject. A private key of 31 bytes is left-padded to 32 (some generators drop a leading zero byte).
/// </summary>
public static class VapidKeys
{
    /// <summary>Left-pads a 31-byte private key; anything else is left for <see cref="Validate"/> to judge.</summary>
    public static void Normalize(VapidOptions vapid)
    {
        if (vapid.PrivateKey is { Length: > 0 } text && TryDecode(text) is { Length: 31 } shortKey)
        {
            vapid.PrivateKey = Base64Url.EncodeToString([0, .. shortKey]);
        }
    }

    /// <summary>Null when usable or not configured at all, else what is wrong.</summary>
    public static string? Validate(VapidOptions vapid)
    {
        if (string.IsNullOrEmpty(vapid.PublicKey) && string.IsNullOrEmpty(vapid.PrivateKey) && string.IsNullOrEmpty(vapid.Subject))
        {
            return null;
        }

        if (!vapid.IsConfigured)
        {
            return "TokenWire:Push:Vapid is incomplete: set Subject, PublicKey and PrivateKey together";
        }

        if (!vapid.Subject!.StartsWith("mailto:", StringComparison.Ordinal) && !vapid.Subject.StartsWith("https:", StringComparison.Ordinal))
        {
            return "TokenWire:Push:Vapid:Subject must be a mailto: or https: URL";
        }

        if (TryDecode(vapid.PublicKey!) is not { Length: 65 } q || q[0] != 4)
        {
            return "TokenWire:Push:Vapid:PublicKey must be an uncompressed P-256 public key (65 bytes starting 0x04), base64url";
        }

        if (TryDecode(vapid.PrivateKey!) is not { Length: 32 } d)
        {
            return "TokenWire:Push:Vapid:PrivateKey must be a P-256 private key (32 bytes), base64url";
        }

        try
        {
            var parameters = new ECParameters { Curve = ECCurve.NamedCurves.nistP256, D = d, Q = new ECPoint { X = q[1..33], Y = q[33..] } };
            using var pair = ECDsa.Create(parameters);
            using var publicOnly = ECDsa.Create(new ECParameters { Curve = parameters.Curve, Q = parameters.Q });
            byte[] probe = [1, 2, 3];
            return publicOnly.VerifyData(probe, pair.SignData(probe, HashAlgorithmName.SHA256), HashAlgorithmName.SHA256)
                ? null
                : "TokenWire:Push:Vapid:PrivateKey does not belong to PublicKey";
        }
        catch (CryptographicException ex)
        {
            return "TokenWire:Push:Vapid keys are not a valid P-256 key pair: " + ex.Message;
        }
    }

    private static byte[]? TryDecode(string text)
    {
        try
        {
            return Base64Url.DecodeFromChars(text.TrimEnd('='));
        }
        catch (FormatException)
        {
            return null;
        }
    }
}
