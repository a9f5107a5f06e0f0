using TokenWire.Protocol;

namespace TokenWire.Server.Fanout;

/// <summary>
/// One outbound ProtocolMessage, encoded lazily at most once per wire format and then shared: every subscriber
/// of a format is sent the same bytes. Racing encoders may both encode; one result wins and both are identical.
/// </summary>
public sealed class EncodedFrame(ProtocolMessage message)
{
    private PerFormatBytes _bytes;

    public ProtocolMessage Message { get; } = message;

    public ReadOnlyMemory<byte> GetBytes(WireFormat format) =>
        _bytes.GetOrEncode(format, Message, static (message, format, output) => ProtocolCodecs.For(format).Write(message, output));
}
