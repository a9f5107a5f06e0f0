using System.Buffers;
using TokenWire.Protocol;

namespace TokenWire.Server.Fanout;

/// <summary>
/// One lazily filled slot of bytes per wire format: what makes "encode once per format, send the same bytes to every
/// subscriber" a one-liner for frames, messages and batches. Racing encoders may both encode; one result wins and both
/// are identical. A mutable struct: keep it in a field and call it in place.
/// </summary>
internal struct PerFormatBytes
{
    private byte[]? _json;
    private byte[]? _messagePack;

    public ReadOnlyMemory<byte> GetOrEncode<TState>(WireFormat format, TState state, Action<TState, WireFormat, IBufferWriter<byte>> encode)
    {
        ref var slot = ref format == WireFormat.MessagePack ? ref _messagePack : ref _json;
        var bytes = Volatile.Read(ref slot);
        if (bytes is null)
        {
            var buffer = new ArrayBufferWriter<byte>(256);
            encode(state, format, buffer);
            Interlocked.CompareExchange(ref slot, buffer.WrittenSpan.ToArray(), null);
            bytes = Volatile.Read(ref slot)!;
        }

        return bytes;
    }
}
