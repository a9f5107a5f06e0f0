using System.Buffers;
using System.Text.Json;
using TokenWire.Protocol;
using TokenWire.Protocol.Json;
using TokenWire.Protocol.MessagePack;
using TokenWire.Server.Annotations;
using TokenWire.Server.Log;
using MessagePackWriter = global::MessagePack.MessagePackWriter;

namespace TokenWire.Server.Rest;

/// <summary>
/// A history page's messages as a REST response gives them, with their annotation summaries (TM2u). A message the log
/// gives as stored (<see cref="IStoredEntries"/>) is written from its bytes (<see cref="StoredMessageTranscoder"/>) and
/// counted from them, never decoded; one with a summary, one the log folded with its versions, or one from a log
/// without stored entries goes through its <see cref="Message"/>. Either way the body is byte for byte what the codecs
/// write for the decoded messages.
/// </summary>
public sealed class HistoryMessages(IReadOnlyList<LogEntry> entries, JsonPayload?[]? summaries)
{
    private readonly IStoredEntries? _stored = entries as IStoredEntries;

    public int Count => entries.Count;

    /// <summary>The page's size as the stats count it: the sum of its messages' <see cref="Message.Size"/>.</summary>
    public long Size()
    {
        var size = 0L;
        for (var i = 0; i < entries.Count; i++)
        {
            size += TryGetStored(i, out var stored) ? StoredMessageTranscoder.Size(stored.Bytes) : entries[i].Message.Size;
        }

        return size;
    }

    public void WriteJson(Utf8JsonWriter writer)
    {
        writer.WriteStartArray();
        for (var i = 0; i < entries.Count; i++)
        {
            if (TryGetStored(i, out var stored))
            {
                StoredMessageTranscoder.WriteJson(writer, stored.Bytes, stored.Position, stored.Timestamp);
            }
            else
            {
                JsonProtocolWriter.WriteMessage(writer, MessageAt(i));
            }
        }

        writer.WriteEndArray();
    }

    public void WriteMessagePack(IBufferWriter<byte> output)
    {
        var writer = new MessagePackWriter(output);
        writer.WriteArrayHeader(entries.Count);
        for (var i = 0; i < entries.Count; i++)
        {
            if (TryGetStored(i, out var stored))
            {
                StoredMessageTranscoder.WriteMessagePack(ref writer, stored.Bytes, stored.Position, stored.Timestamp);
            }
            else
            {
                MessagePackProtocolWriter.WriteMessage(ref writer, MessageAt(i));
            }
        }

        writer.Flush();
    }

    /// <summary>The entry as stored, unless its message must be made: it has a summary, or the log made it.</summary>
    private bool TryGetStored(int index, out StoredEntry stored)
    {
        stored = default;
        return summaries?[index] is null && _stored is not null && _stored.TryGetStored(index, out stored);
    }

    private Message MessageAt(int index) =>
        summaries?[index] is { } summary ? SummaryReader.WithSummary(entries[index].Message, summary) : entries[index].Message;
}
