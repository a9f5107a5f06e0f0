using System.Security.Cryptography;

namespace TokenWire.Server.Connections;

/// <summary>Random identifiers. Alphanumeric only: ids are embedded in <c>connectionId:msgSerial:index</c> and keys.</summary>
public static class ConnectionIds
{
    private const string Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

    public static string NewConnectionId() => RandomNumberGenerator.GetString(Alphabet, 12);

    /// <summary><c>connectionId!secret</c>: the secret makes a key unguessable from the public connection id.</summary>
    public static string NewConnectionKey(string connectionId) => connectionId + "!" + RandomNumberGenerator.GetString(Alphabet, 20);

    /// <summary>
    /// A connection key as the client holds it: <c>connectionId!secret</c>, then <c>~generation</c> once the connection
    /// has been resumed or recovered (RTN16d: every resume hands out a new key). The stores know a connection by the
    /// part before <c>~</c>; the generation tells a superseded key from the current one.
    /// </summary>
    public static (string BaseKey, int Generation) ParseKey(string key)
    {
        var tilde = key.LastIndexOf('~');
        return tilde > 0 && int.TryParse(key.AsSpan(tilde + 1), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var generation)
            ? (key[..tilde], generation)
            : (key, 0);
    }

    public static string KeyWithGeneration(string baseKey, int generation) =>
        generation == 0 ? baseKey : string.Concat(baseKey, "~", generation.ToString(System.Globalization.CultureInfo.InvariantCulture));

    public static bool IsWellFormedKey(string? key)
    {
        if (string.IsNullOrEmpty(key))
        {
            return false;
        }

        key = ParseKey(key).BaseKey;
        var bang = key.IndexOf('!');
        return bang == 12 && key.Length == 33
            && key.AsSpan(0, 12).IndexOfAnyExcept(Alphabet) < 0
            && key.AsSpan(13).IndexOfAnyExcept(Alphabet) < 0;
    }
}
