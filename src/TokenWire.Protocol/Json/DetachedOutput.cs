using System.Buffers;

namespace TokenWire.Protocol.Json;

/// <summary>
/// What a reused <see cref="System.Text.Json.Utf8JsonWriter"/> is reset onto between writes, so it holds no caller's
/// buffer. Not <c>Stream.Null</c>: a reset onto a stream allocates the writer a new internal buffer every time. Never
/// written to.
/// </summary>
internal sealed class DetachedOutput : IBufferWriter<byte>
{
    public static readonly DetachedOutput Instance = new();

    private DetachedOutput()
    {
    }

    public void Advance(int count) => throw new InvalidOperationException("A JSON writer wrote while detached from its output");

    public Memory<byte> GetMemory(int sizeHint = 0) => throw new InvalidOperationException("A JSON writer wrote while detached from its output");

    public Span<byte> GetSpan(int sizeHint = 0) => throw new InvalidOperationException("A JSON writer wrote while detached from its output");
}
