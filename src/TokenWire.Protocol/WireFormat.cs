namespace TokenWire.Protocol;

/// <summary>The two encodings of the Ably protocol: JSON text frames and MessagePack binary frames.</summary>
public enum WireFormat
{
    Json = 0,
    MessagePack = 1,
}
