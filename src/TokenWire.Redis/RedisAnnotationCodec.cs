using System.Buffers;
using System.Text.Json;
using TokenWire.Protocol;
using TokenWire.Protocol.Json;
using TokenWire.Server.Annotations;
using TokenWire.Server.Engine;

namespace TokenWire.Redis;

/// <summary>
/// How annotations are stored and published in Redis: an annotation as its wire JSON (binary data base64, as a JSON
/// client receives it), an event as <c>{ "annotation": …, "summary": … }</c>, to which <c>annotate.lua</c> prepends the
/// event's <c>"sequence"</c>.
/// </summary>
internal static class RedisAnnotationCodec
{
    private static readonly JsonWriterOptions WriterOptions = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static byte[] Encode(Annotation annotation)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(buffer, WriterOptions))
        {
            JsonProtocolWriter.WriteAnnotation(writer, annotation);
        }

        return buffer.WrittenSpan.ToArray();
    }

    public static Annotation Decode(ReadOnlyMemory<byte> json) =>
        ProtocolCodecs.Json.ReadAnnotations(new ReadOnlySequence<byte>(json))[0];

    public static byte[] EncodeEvent(AnnotationEvent applied)
    {
        var buffer = new ArrayBufferWriter<byte>(512);
        using (var writer = new Utf8JsonWriter(buffer, WriterOptions))
        {
            writer.WriteStartObject();
            writer.WritePropertyName("annotation");
            JsonProtocolWriter.WriteAnnotation(writer, applied.Annotation);
            writer.WritePropertyName("summary");
            writer.WriteRawValue(applied.Summary.Utf8Json.Span, skipInputValidation: true);
            writer.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    public static AnnotationEvent DecodeEvent(ChannelKey channel, ReadOnlyMemory<byte> payload)
    {
        using var document = JsonDocument.Parse(payload);
        var annotation = Decode(System.Text.Encoding.UTF8.GetBytes(document.RootElement.GetProperty("annotation").GetRawText()));
        var summary = new JsonPayload(System.Text.Encoding.UTF8.GetBytes(document.RootElement.GetProperty("summary").GetRawText()));
        var sequence = document.RootElement.TryGetProperty("sequence", out var value) ? value.GetInt64() : 0;
        return new AnnotationEvent(channel, annotation, summary, sequence);
    }
}
