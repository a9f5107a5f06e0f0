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
    private const int ScratchBytes = 4096;

    /// <summary>A scratch buffer that grew past this for one large message is dropped, not kept per thread.</summary>
    private const int MaxRetainedScratchBytes = 64 * 1024;

    [ThreadStatic]
    private static ArrayBufferWriter<byte>? t_scratch;

    private byte[]? _json;
    private byte[]? _messagePack;

    public ReadOnlyMemory<byte> GetOrEncode<TState>(WireFormat format, TState state, Action<TState, WireFormat, IBufferWriter<byte>> encode)
    {
        ref var slot = ref format == WireFormat.MessagePack ? ref _messagePack : ref _json;
        var bytes = Volatile.Read(ref slot);
        if (bytes is null)
        {
            // Encoded into this thread's scratch buffer, so the only allocation is the result. Taken out while in use,
            // so an encoder that encodes something else meanwhile gets a buffer of its own.
            var scratch = t_scratch ?? new ArrayBufferWriter<byte>(ScratchBytes);
            t_scratch = null;
            encode(state, format, scratch);
            Interlocked.CompareExchange(ref slot, scratch.WrittenSpan.ToArray(), null);
            bytes = Volatile.Read(ref slot)!;
            scratch.ResetWrittenCount();
            if (scratch.Capacity <= MaxRetainedScratchBytes)
            {
                t_scratch = scratch;
            }
        }

        return bytes;
    }
}
