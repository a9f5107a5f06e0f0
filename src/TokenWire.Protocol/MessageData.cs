using System.Text;

namespace TokenWire.Protocol;

/// <summary>
/// A message payload in canonical form: text or bytes. The outer <c>base64</c> layer of JSON transports is removed
/// on decode and re-added per recipient format on encode (reference §3.4), so one stored payload serves both formats.
/// </summary>
public readonly struct MessageData : IEquatable<MessageData>
{
    private readonly object? _value;

    private MessageData(object? value) => _value = value;

    public static MessageData None => default;

    public static MessageData FromText(string text) => new(text);

    public static MessageData FromBytes(byte[] bytes) => new(bytes);

    public bool IsNone => _value is null;

    public bool IsText => _value is string;

    public bool IsBinary => _value is byte[];

    public string? Text => _value as string;

    public byte[]? Bytes => _value as byte[];

    /// <summary>Payload size as Ably counts it toward <c>maxMessageSize</c>: UTF-8 bytes of text, length of binary.</summary>
    public int Size => _value switch
    {
        string s => Encoding.UTF8.GetByteCount(s),
        byte[] b => b.Length,
        _ => 0,
    };

    public bool Equals(MessageData other) => (_value, other._value) switch
    {
        (null, null) => true,
        (string a, string b) => a == b,
        (byte[] a, byte[] b) => a.AsSpan().SequenceEqual(b),
        _ => false,
    };

    public override bool Equals(object? obj) => obj is MessageData other && Equals(other);

    public override int GetHashCode() => _value?.GetHashCode() ?? 0;

    public override string ToString() => _value switch
    {
        string s => s,
        byte[] b => $"<{b.Length} bytes>",
        _ => "<none>",
    };
}
