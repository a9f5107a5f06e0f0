using System.Security.Cryptography;

namespace TokenWire.Server.Connections;

/// <summary>Random identifiers. Alphanumeric only: ids are embedded in <c>connectionId:msgSerial:index</c> and keys.</summary>
public static class ConnectionIds
{
    private const string Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

    public static string NewConnectionId() => RandomNumberGenerator.GetString(Alphabet, 12);

    /// <summary><c>connectionId!secret</c>: the secret makes a key unguessable from the public connection id.</summary>
    public static string NewConnectionKey(string connectionId) => connectionId + "!" + RandomNumberGenerator.GetString(Alphabet, 20);

    /// <summary>A REST publish's id base, like ably-js's own (random, 12 characters).</summary>
    public static string NewMessageIdBase() => RandomNumberGenerator.GetString(Alphabet, 12);

    public static bool IsWellFormedKey(string? key)
    {
        if (string.IsNullOrEmpty(key))
        {
            return false;
        }

        var bang = key.IndexOf('!');
        return bang == 12 && key.Length == 33
            && key.AsSpan(0, 12).IndexOfAnyExcept(Alphabet) < 0
            && key.AsSpan(13).IndexOfAnyExcept(Alphabet) < 0;
    }
}
