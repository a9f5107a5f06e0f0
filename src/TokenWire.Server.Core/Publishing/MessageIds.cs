using System.Globalization;
using System.Security.Cryptography;
using TokenWire.Protocol;

namespace TokenWire.Server.Publishing;

/// <summary>
/// The ids TokenWire gives the items of one publish: <c>base:index</c>. Realtime uses <c>connectionId:msgSerial</c> as
/// the base, so a retransmission after a resume carries the same ids and the log's idempotency answers it with the
/// original serials; presence ids use the same shape, which clients compare to order events (RTP2b2). A REST publish
/// without ids gets a random base, as ably-js's idempotent REST publishing does, and returns it as its messageId.
/// </summary>
public static class MessageIds
{
    /// <summary>Alphanumeric only: a base is followed by <c>:index</c>, and realtime bases are connection ids (the same alphabet).</summary>
    private const string Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

    public static string For(string idBase, int index) => string.Concat(idBase, ":", index.ToString(CultureInfo.InvariantCulture));

    /// <summary>The id of item <paramref name="index"/> of a realtime MESSAGE, PRESENCE or ANNOTATION: <c>connectionId:msgSerial:index</c>.</summary>
    public static string ForRealtime(string connectionId, long msgSerial, int index)
    {
        Span<char> tail = stackalloc char[48]; // ":" + a long + ":" + an int
        tail[0] = ':';
        msgSerial.TryFormat(tail[1..], out var serialLength, provider: CultureInfo.InvariantCulture);
        tail[1 + serialLength] = ':';
        index.TryFormat(tail[(2 + serialLength)..], out var indexLength, provider: CultureInfo.InvariantCulture);
        return string.Concat(connectionId.AsSpan(), tail[..(2 + serialLength + indexLength)]);
    }

    /// <summary>Gives every message of a realtime MESSAGE without an id <c>connectionId:msgSerial:index</c>.</summary>
    public static void AssignMissing(IReadOnlyList<Message> messages, string connectionId, long msgSerial)
    {
        for (var i = 0; i < messages.Count; i++)
        {
            messages[i].Id ??= ForRealtime(connectionId, msgSerial, i);
        }
    }

    /// <summary>Gives every message without an id <c>idBase:index</c>.</summary>
    public static void AssignMissing(IReadOnlyList<Message> messages, string idBase)
    {
        for (var i = 0; i < messages.Count; i++)
        {
            messages[i].Id ??= For(idBase, i);
        }
    }

    /// <summary>A REST publish: when no message has an id, all get one from a new random base.</summary>
    public static void AssignForRest(IReadOnlyList<Message> messages)
    {
        if (messages.All(m => m.Id is null))
        {
            AssignMissing(messages, NewRestBase());
        }
    }

    /// <summary>A REST publish's id base, like ably-js's own (random, 12 characters).</summary>
    public static string NewRestBase() => RandomNumberGenerator.GetString(Alphabet, 12);

    /// <summary>The base of an id (what REST returns as <c>messageId</c>); the id itself when it has no index.</summary>
    public static string? BaseOf(string? id) => id is not null && id.LastIndexOf(':') is var colon and > 0 ? id[..colon] : id;
}
