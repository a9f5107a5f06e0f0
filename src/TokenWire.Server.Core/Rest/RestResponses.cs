using System.Buffers;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using TokenWire.Protocol;
using TokenWire.Protocol.Json;
using TokenWire.Protocol.MessagePack;
using MessagePackWriter = global::MessagePack.MessagePackWriter;

namespace TokenWire.Server.Rest;

/// <summary>
/// Writes REST bodies in the negotiated format. Errors always go out as JSON with <c>Content-Type</c> exactly
/// <c>application/json</c> plus <c>X-Ably-ErrorCode</c>/<c>X-Ably-ErrorMessage</c> (reference §5.1, §10.11).
/// With <c>?envelope=</c> (browser paginated requests) the status and headers also travel inside the body.
/// </summary>
public static class RestResponses
{
    private static readonly JsonWriterOptions JsonOptions = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static Task WriteErrorAsync(HttpContext context, ErrorInfo error)
    {
        var response = context.Response;
        response.StatusCode = error.StatusCode;
        response.Headers["X-Ably-ErrorCode"] = error.Code.ToString(System.Globalization.CultureInfo.InvariantCulture);
        response.Headers["X-Ably-ErrorMessage"] = Uri.EscapeDataString(error.Message);
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(buffer, JsonOptions))
        {
            writer.WriteStartObject();
            writer.WritePropertyName("error");
            JsonProtocolWriter.WriteError(writer, error);
            writer.WriteEndObject();
        }

        response.ContentType = RestFormat.Json;
        return response.Body.WriteAsync(buffer.WrittenMemory).AsTask();
    }

    /// <summary>A body built as JSON; transcoded to msgpack when the client asked for it.</summary>
    public static Task WriteJsonAsync(HttpContext context, int status, Action<Utf8JsonWriter> body) =>
        WriteAsync(context, status, body, msgpackBody: null);

    /// <summary>A message array, encoded directly per format so binary data stays binary in msgpack.</summary>
    public static Task WriteMessagesAsync(HttpContext context, IReadOnlyList<Message> messages) =>
        WriteAsync(context, StatusCodes.Status200OK, writer => WriteMessageArray(writer, messages), buffer => ProtocolCodecs.MessagePack.WriteMessages(messages, buffer));

    /// <summary>A history page's message array, encoded directly per format (<see cref="HistoryMessages"/>).</summary>
    public static Task WriteHistoryAsync(HttpContext context, HistoryMessages messages) =>
        WriteAsync(context, StatusCodes.Status200OK, messages.WriteJson, messages.WriteMessagePack);

    /// <summary>An annotation array (<c>annotations.get</c>), encoded directly per format like <see cref="WriteMessagesAsync"/>.</summary>
    public static Task WriteAnnotationsAsync(HttpContext context, IReadOnlyList<Annotation> annotations) =>
        WriteAsync(context, StatusCodes.Status200OK, writer =>
        {
            writer.WriteStartArray();
            foreach (var annotation in annotations)
            {
                JsonProtocolWriter.WriteAnnotation(writer, annotation);
            }

            writer.WriteEndArray();
        }, buffer => ProtocolCodecs.MessagePack.WriteAnnotations(annotations, buffer));

    /// <summary>One message (<c>getMessage</c>), encoded directly per format like <see cref="WriteMessagesAsync"/>.</summary>
    public static Task WriteMessageAsync(HttpContext context, Message message) =>
        WriteAsync(context, StatusCodes.Status200OK, writer => JsonProtocolWriter.WriteMessage(writer, message), buffer =>
        {
            var writer = new MessagePackWriter(buffer);
            MessagePackProtocolWriter.WriteMessage(ref writer, message);
            writer.Flush();
        });

    private static void WriteMessageArray(Utf8JsonWriter writer, IReadOnlyList<Message> messages)
    {
        writer.WriteStartArray();
        foreach (var message in messages)
        {
            JsonProtocolWriter.WriteMessage(writer, message);
        }

        writer.WriteEndArray();
    }

    private static Task WriteAsync(HttpContext context, int status, Action<Utf8JsonWriter> body, Action<IBufferWriter<byte>>? msgpackBody)
    {
        var format = RestFormat.ForResponse(context.Request);
        var envelope = context.Request.Query["envelope"].ToString();
        var response = context.Response;
        var buffer = new ArrayBufferWriter<byte>(1024);
        if (envelope is "json" or "msgpack")
        {
            format = envelope == "msgpack" ? WireFormat.MessagePack : WireFormat.Json;
            WriteEnvelopeJson(buffer, status, response.Headers.Link.ToString(), body);
            response.StatusCode = StatusCodes.Status200OK;
        }
        else if (format == WireFormat.MessagePack && msgpackBody is not null)
        {
            msgpackBody(buffer);
            return Finish(response, status, format, buffer);
        }
        else
        {
            using var writer = new Utf8JsonWriter(buffer, JsonOptions);
            body(writer);
            writer.Flush();
            response.StatusCode = status;
        }

        if (format == WireFormat.MessagePack)
        {
            var msgpack = new ArrayBufferWriter<byte>(buffer.WrittenCount);
            var writer = new MessagePackWriter(msgpack);
            PayloadTranscoder.JsonToMessagePack(buffer.WrittenSpan, ref writer);
            writer.Flush();
            buffer = msgpack;
        }

        return Finish(response, response.StatusCode, format, buffer);
    }

    private static Task Finish(HttpResponse response, int status, WireFormat format, ArrayBufferWriter<byte> buffer)
    {
        response.StatusCode = status;
        response.ContentType = RestFormat.ContentType(format);
        response.ContentLength = buffer.WrittenCount;
        return response.Body.WriteAsync(buffer.WrittenMemory).AsTask();
    }

    private static void WriteEnvelopeJson(ArrayBufferWriter<byte> buffer, int status, string link, Action<Utf8JsonWriter> body)
    {
        using var writer = new Utf8JsonWriter(buffer, JsonOptions);
        writer.WriteStartObject();
        writer.WriteNumber("statusCode", status);
        writer.WritePropertyName("response");
        body(writer);
        writer.WriteStartObject("headers");
        if (link.Length > 0)
        {
            writer.WriteString("link", link);
        }

        writer.WriteEndObject();
        writer.WriteEndObject();
    }
}
