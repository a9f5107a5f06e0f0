using System.Buffers;
using System.Text.Json;

namespace TokenWire.Protocol.Json;

/// <summary>
/// The JSON wire format (reference §2, §3): camelCase fields, empty fields omitted, binary data as base64 with
/// <c>/base64</c> appended to the encoding. Built on Utf8JsonWriter/Utf8JsonReader; no reflection.
/// </summary>
public sealed class JsonProtocolCodec : IProtocolCodec
{
    /// <summary>Extras and client payloads nest; 64 is ample for real data and bounds recursion on hostile input.</summary>
    internal const int MaxDepth = 64;

    [ThreadStatic]
    private static Utf8JsonWriter? t_writer;

    /// <summary>Relaxed escaping: frames are not HTML, so non-ASCII text goes out as UTF-8, not \uXXXX (smaller frames).</summary>
    internal static readonly JsonWriterOptions WriterOptions = new()
    {
        SkipValidation = true,
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };
    private static readonly JsonReaderOptions ReaderOptions = new() { MaxDepth = MaxDepth };

    private readonly bool _serverFields;

    public JsonProtocolCodec()
        : this(serverFields: false)
    {
    }

    /// <param name="serverFields">Read the fields only a server sends (a client's codec; see <see cref="ProtocolCodecs.JsonFromServer"/>).</param>
    internal JsonProtocolCodec(bool serverFields) => _serverFields = serverFields;

    public WireFormat Format => WireFormat.Json;

    public void Write(ProtocolMessage message, IBufferWriter<byte> output) =>
        WriteWith(output, message, static (writer, message) => JsonProtocolWriter.WriteProtocolMessage(writer, message));

    public void WriteMessage(Message message, IBufferWriter<byte> output) =>
        WriteWith(output, message, static (writer, message) => JsonProtocolWriter.WriteMessage(writer, message));

    public void WriteMessage(Message message, InheritedFields inherited, IBufferWriter<byte> output) =>
        WriteWith(output, (message, inherited), static (writer, state) => JsonProtocolWriter.WriteMessage(writer, state.message, state.inherited));

    public void WriteMessages(IReadOnlyList<Message> messages, IBufferWriter<byte> output) =>
        WriteWith(output, messages, static (writer, messages) =>
        {
            writer.WriteStartArray();
            foreach (var message in messages)
            {
                JsonProtocolWriter.WriteMessage(writer, message);
            }

            writer.WriteEndArray();
        });

    public void WritePresenceMessages(IReadOnlyList<PresenceMessage> messages, IBufferWriter<byte> output) =>
        WriteWith(output, messages, static (writer, messages) =>
        {
            writer.WriteStartArray();
            foreach (var message in messages)
            {
                JsonProtocolWriter.WriteMessage(writer, message.ToMessage());
            }

            writer.WriteEndArray();
        });

    public void WriteAnnotations(IReadOnlyList<Annotation> annotations, IBufferWriter<byte> output) =>
        WriteWith(output, annotations, static (writer, annotations) =>
        {
            writer.WriteStartArray();
            foreach (var annotation in annotations)
            {
                JsonProtocolWriter.WriteAnnotation(writer, annotation);
            }

            writer.WriteEndArray();
        });

    public IReadOnlyList<Annotation> ReadAnnotations(ReadOnlySequence<byte> input) =>
        ReadBody(input, JsonProtocolReader.ReadAnnotation);

    /// <summary>Writes with this thread's writer reset onto <paramref name="output"/>, so encoding allocates no writer.</summary>
    private static void WriteWith<TState>(IBufferWriter<byte> output, TState state, Action<Utf8JsonWriter, TState> write)
    {
        var writer = t_writer ?? new Utf8JsonWriter(DetachedOutput.Instance, WriterOptions);
        t_writer = null; // taken out while in use, so a nested write gets its own
        try
        {
            writer.Reset(output);
            write(writer, state);
            writer.Flush();
        }
        finally
        {
            writer.Reset(DetachedOutput.Instance);
            t_writer = writer;
        }
    }

    public ProtocolMessage Read(ReadOnlySequence<byte> input) => Read(input, null);

    public ProtocolMessage Read(ReadOnlySequence<byte> input, RecentStrings? strings)
    {
        try
        {
            var reader = new Utf8JsonReader(input, ReaderOptions);
            JsonProtocolReader.ReadToken(ref reader);
            var message = JsonProtocolReader.ReadProtocolMessage(ref reader, input, _serverFields, strings);
            JsonProtocolReader.ExpectEnd(ref reader);
            return message;
        }
        catch (JsonException ex)
        {
            throw new ProtocolException(ErrorCodes.BadRequest, "Malformed JSON frame: " + ex.Message, ex);
        }
        catch (InvalidOperationException ex)
        {
            throw new ProtocolException(ErrorCodes.BadRequest, "Malformed JSON frame: " + ex.Message, ex);
        }
    }

    public IReadOnlyList<Message> ReadMessages(ReadOnlySequence<byte> input) =>
        _serverFields ? ReadBody(input, ReadMessageWithServerFields) : ReadBody(input, ReadMessage);

    public IReadOnlyList<BatchPublishSpec> ReadBatchPublish(ReadOnlySequence<byte> input) =>
        ReadBody(input, JsonBatchReader.ReadSpec);

    /// <summary>A REST body of one item or an array of them (the REST endpoints accept both); malformed is 40001.</summary>
    private static List<T> ReadBody<T>(ReadOnlySequence<byte> input, ItemReader<T> read)
    {
        try
        {
            var reader = new Utf8JsonReader(input, ReaderOptions);
            var items = new List<T>();
            if (JsonProtocolReader.ReadToken(ref reader) == JsonTokenType.StartArray)
            {
                while (JsonProtocolReader.ReadToken(ref reader) != JsonTokenType.EndArray)
                {
                    items.Add(read(ref reader, input));
                }
            }
            else
            {
                items.Add(read(ref reader, input));
            }

            JsonProtocolReader.ExpectEnd(ref reader);
            return items;
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException)
        {
            throw new ProtocolException(ErrorCodes.InvalidRequestBody, "Malformed JSON body: " + ex.Message, ex);
        }
    }

    private delegate T ItemReader<T>(ref Utf8JsonReader reader, ReadOnlySequence<byte> input);

    private static Message ReadMessage(ref Utf8JsonReader reader, ReadOnlySequence<byte> input) => JsonProtocolReader.ReadMessage(ref reader, input);

    private static Message ReadMessageWithServerFields(ref Utf8JsonReader reader, ReadOnlySequence<byte> input) =>
        JsonProtocolReader.ReadMessage(ref reader, input, serverFields: true);
}
