using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;

namespace TokenWire.Server.Push;

/// <summary>
/// Device identity tokens: what a device registered through the push activation receives and then presents for its
/// own registration and subscriptions (<c>X-Ably-DeviceToken</c>, or <c>Authorization: Bearer</c> base64 of it). A
/// token names its app and device and carries 24 random bytes; it is valid while it equals the one stored with the
/// registration, so re-registering or removing the device revokes it on every node.
/// </summary>
public static class DeviceIdentityTokens
{
    private const string Prefix = "twdev.";

    public static string Issue(string appId, string deviceId) =>
        string.Concat(Prefix, Base64Url.EncodeToString(Encoding.UTF8.GetBytes(appId)), ".",
            Base64Url.EncodeToString(Encoding.UTF8.GetBytes(deviceId)), ".", Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(24)));

    /// <summary>The app and device a token names, when it has a device token's shape (not yet checked against the registration).</summary>
    public static bool TryParse(string token, out string appId, out string deviceId)
    {
        appId = deviceId = string.Empty;
        if (!token.StartsWith(Prefix, StringComparison.Ordinal))
        {
            return false;
        }

        var parts = token[Prefix.Length..].Split('.');
        if (parts.Length != 3 || !Base64Url.IsValid(parts[0]) || !Base64Url.IsValid(parts[1]))
        {
            return false;
        }

        appId = Encoding.UTF8.GetString(Base64Url.DecodeFromChars(parts[0]));
        deviceId = Encoding.UTF8.GetString(Base64Url.DecodeFromChars(parts[1]));
        return true;
    }

    /// <summary>Whether <paramref name="presented"/> is the registration's current token (compared in constant time).</summary>
    public static bool Matches(DeviceRegistration device, string presented) =>
        device.IdentityToken is { } token
        && CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(token), Encoding.UTF8.GetBytes(presented));

    /// <summary>Whether <paramref name="presented"/> is the registration's device secret (compared in constant time).</summary>
    public static bool MatchesSecret(DeviceRegistration device, string presented) =>
        device.DeviceSecret is { } secret
        && CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(secret), Encoding.UTF8.GetBytes(presented));
}
