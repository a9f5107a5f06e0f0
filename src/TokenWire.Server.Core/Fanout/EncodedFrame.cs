using System.Buffers;
using TokenWire.Protocol;

namespace TokenWire.Server.Fanout;

/// <summary>
/// One outbound ProtocolMessage, encoded lazily at most once per wire format and then shared: every subscriber
/// of a format is sent the same bytes. Racing encoders may both encode; one result wins and both are identical.
/// </summary>
public sealed class EncodedFrame(ProtocolMessage message)
{
    private byte[]? _json;
    private byte[]? _messagePack;

    public ProtocolMessage Message { get; } = message;

    public ReadOnlyMemory<byte> GetBytes(WireFormat format)
    {
        ref var slot = ref format == WireFormat.MessagePack ? ref _messagePack : ref _json;
        var bytes = Volatile.Read(ref slot);
        if (bytes is null)
        {
            var buffer = new ArrayBufferWriter<byte>(256);
            ProtocolCodecs.For(format).Write(Message, buffer);
            bytes = buffer.WrittenSpan.ToArray();
            Interlocked.CompareExchange(ref slot, bytes, null);
            bytes = Volatile.Read(ref slot)!;
        }

        return bytes;
    }
}
