using System.Buffers;
using MessagePack;
using StackExchange.Redis;
using TokenWire.Protocol;
using TokenWire.Protocol.MessagePack;
using TokenWire.Protocol.Serials;
using TokenWire.Server.Engine;
using TokenWire.Server.Log;

namespace TokenWire.Redis;

/// <summary>
/// How messages are stored in a channel's stream and carried on the bus. A message is stored once, in
/// <see cref="StoredMessageCodec"/>'s form (without <c>serial</c> and <c>timestamp</c>): the append script assigns
/// those, and they come back from the entry id (<c>offset-0</c>) and its <c>t</c> field. The bus carries the
/// very bytes that were stored, so a node decodes exactly what a history read would return.
/// </summary>
internal static class RedisMessageCodec
{
    /// <summary>Envelope format version; the first item of every envelope.</summary>
    private const int EnvelopeVersion = 1;

    public static byte[] EncodeStored(Message message)
    {
        message.Action ??= 0;
        return StoredMessageCodec.Encode(message);
    }

    /// <summary>
    /// A stored message with its serial and timestamp from the entry. A version entry (mutate.lua) is stored with
    /// its original's serial and create time, and gets its own serial and timestamp as <c>version.serial</c>/<c>version.timestamp</c>.
    /// </summary>
    public static LogEntry DecodeStored(ReadOnlySequence<byte> stored, string epoch, long offset, long timestamp)
    {
        var message = StoredMessageCodec.Decode(stored);
        var serial = new LogPosition(epoch, offset).ToSerial();
        if (LogPosition.TryParse(message.Serial, out var original))
        {
            // mutate.lua stores the original's create time (versions stored before it did get their own).
            message.Timestamp ??= timestamp;
            message.Version = VersionPayload.Stamp(message.Version, serial, timestamp);
            return new LogEntry(offset, message, original.Offset) { LoggedAt = timestamp };
        }

        message.Timestamp = timestamp;
        message.Serial = serial;
        return new LogEntry(offset, message) { LoggedAt = timestamp };
    }

    /// <summary>
    /// A message's msgpack key/value pairs without the map header, and how many: mutate.lua joins such pairs into the
    /// version it stores. Every message written here has under 16 fields, so the header is one fixmap byte.
    /// </summary>
    public static (byte[] Pairs, int Count) EncodePairs(Message message)
    {
        var buffer = new ArrayBufferWriter<byte>(128);
        var writer = new MessagePackWriter(buffer);
        MessagePackProtocolWriter.WriteMessage(ref writer, message);
        writer.Flush();
        var header = buffer.WrittenSpan[0];
        if (header < 0x80 || header > 0x8f)
        {
            throw new InvalidOperationException("A message's field count must fit a fixmap");
        }

        return (buffer.WrittenSpan[1..].ToArray(), header & 0x0f);
    }

    /// <summary>The k, n, x, c, z fields of a message in a mutable channel (see Scripts/channel.lua).</summary>
    public static RedisValue[] MutableFields(Message message) =>
    [
        MutationRules.DataKind(message),
        message.Name is null ? RedisValue.EmptyString : EncodePairs(new Message { Name = message.Name }).Pairs,
        message.Extras is null ? RedisValue.EmptyString : EncodePairs(new Message { Extras = message.Extras }).Pairs,
        message.ClientId ?? string.Empty,
        message.Data.Size,
    ];

    /// <summary>Fields per message in append.lua's ARGV: id and message, plus <see cref="MutableFields"/> in mutable channels.</summary>
    public const int MutableStride = 7;

    /// <summary>Originals with their versions (history.lua, read_recent.lua), each folded up to its read's bound.</summary>
    public static List<LogEntry> DecodeFolded(RedisResult originals, RedisResult versions, string epoch)
    {
        var entries = DecodeEntries(originals, epoch);
        var perOriginal = (RedisResult[])versions!;
        for (var i = 0; i < entries.Count; i++)
        {
            var folded = DecodeEntries(perOriginal[i], epoch);
            if (folded.Count > 0)
            {
                entries[i] = entries[i] with { Message = MessageAggregation.Fold(entries[i], folded, long.MaxValue) };
            }
        }

        return entries;
    }

    /// <summary>Entries in XRANGE form: <c>[[id, [field, value, …]], …]</c> with fields <c>t</c> and <c>m</c>.</summary>
    public static List<LogEntry> DecodeEntries(RedisResult entries, string epoch)
    {
        var items = (RedisResult[])entries!;
        var decoded = new List<LogEntry>(items.Length);
        foreach (var item in items)
        {
            var pair = (RedisResult[])item!;
            var id = (string)pair[0]!;
            var offset = long.Parse(id.AsSpan(0, id.IndexOf('-')), System.Globalization.CultureInfo.InvariantCulture);
            var fields = (RedisResult[])pair[1]!;
            long timestamp = 0;
            byte[]? stored = null;
            for (var i = 0; i + 1 < fields.Length; i += 2)
            {
                switch ((string)fields[i]!)
                {
                    case "t": timestamp = (long)fields[i + 1]; break;
                    case "m": stored = (byte[])fields[i + 1]!; break;
                }
            }

            decoded.Add(DecodeStored(new ReadOnlySequence<byte>(stored ?? []), epoch, offset, timestamp));
        }

        return decoded;
    }

    /// <summary>
    /// An ephemeral envelope (<see cref="BusEnvelope.Ephemeral"/>) in the form <see cref="DecodeEnvelope"/> reads, with
    /// first offset 0: its messages were never stored and have no offsets. The publisher is the messages' connection.
    /// </summary>
    public static byte[] EncodeEphemeralEnvelope(IReadOnlyList<Message> messages)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        var writer = new MessagePackWriter(buffer);
        writer.Write(EnvelopeVersion);
        writer.Write(string.Empty);
        writer.Write(messages[0].ConnectionId ?? string.Empty);
        writer.Write(messages[0].Timestamp ?? 0);
        writer.Write(0L);
        writer.Write(messages.Count);
        writer.Flush();
        foreach (var message in messages)
        {
            buffer.Write(EncodeStored(message));
        }

        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>
    /// Reads an envelope published by <c>append.lua</c> (or an ephemeral one, first offset 0). Items in order:
    /// version, epoch, publisher connection id ('' for REST), timestamp, first offset, count, then count stored
    /// messages (offsets first, first+1, …), then (from mutate.lua) the acting connection's appendRollupWindow in ms.
    /// Any additional items are ignored, so a newer node may append some.
    /// </summary>
    public static BusEnvelope DecodeEnvelope(ChannelKey channel, ReadOnlyMemory<byte> payload)
    {
        var sequence = new ReadOnlySequence<byte>(payload);
        var reader = new MessagePackReader(sequence);
        var version = reader.ReadInt32();
        if (version < EnvelopeVersion)
        {
            throw new InvalidDataException($"Unsupported bus envelope version {version}");
        }

        var epoch = reader.ReadString() ?? string.Empty;
        var connectionId = reader.ReadString();
        var timestamp = reader.ReadInt64();
        var first = reader.ReadInt64();
        var count = reader.ReadInt32();
        var entries = new LogEntry[count];
        for (var i = 0; i < count; i++)
        {
            var start = reader.Position;
            reader.Skip();
            var stored = sequence.Slice(start, reader.Position);
            if (first == 0)
            {
                var message = ProtocolCodecs.MessagePack.ReadMessages(stored)[0];
                message.Timestamp = timestamp;
                entries[i] = new LogEntry(0, message) { LoggedAt = timestamp };
            }
            else
            {
                entries[i] = DecodeStored(stored, epoch, first + i, timestamp);
            }
        }

        var rollup = reader.End ? 0 : reader.ReadInt64();
        return new BusEnvelope(channel, epoch, entries, string.IsNullOrEmpty(connectionId) ? null : connectionId, Ephemeral: first == 0)
        {
            AppendRollupWindow = TimeSpan.FromMilliseconds(rollup),
        };
    }
}
