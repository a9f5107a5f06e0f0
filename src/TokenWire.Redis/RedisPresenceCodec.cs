using System.Buffers;
using System.Security.Cryptography;
using System.Text;
using MessagePack;
using TokenWire.Protocol;
using TokenWire.Protocol.MessagePack;

namespace TokenWire.Redis;

/// <summary>
/// How presence members are stored in a channel's member hash and carried on its presence pub/sub channel. A member
/// is stored as the Ably msgpack map of the message that entered it (as <see cref="RedisMessageCodec"/> stores log
/// messages), so binary data, encoding, extras, id and timestamp come back exactly; the script never decodes it.
/// </summary>
internal static class RedisPresenceCodec
{
    /// <summary>Event format version; the first item of every payload.</summary>
    private const int EventsVersion = 1;

    private const byte Absent = 0, Text = 1, Binary = 2;

    public static byte[] Encode(PresenceMessage message)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        var writer = new MessagePackWriter(buffer);
        MessagePackProtocolWriter.WriteMessage(ref writer, message.ToMessage());
        writer.Flush();
        return buffer.WrittenSpan.ToArray();
    }

    public static PresenceMessage Decode(ReadOnlySequence<byte> stored) =>
        PresenceMessage.FromMessage(ProtocolCodecs.MessagePack.ReadMessages(stored)[0]);

    /// <summary>A stored member, as GET and SYNC return it.</summary>
    public static PresenceMessage DecodeMember(byte[] stored)
    {
        var member = Decode(new ReadOnlySequence<byte>(stored));
        member.Action = PresenceAction.Present;
        return member;
    }

    /// <summary>
    /// What makes a repeated ENTER "the same entry" (PresenceSet.SameEntry): id, data with its kind, encoding, and
    /// extras as text. Null and empty are told apart where PresenceSet tells them apart.
    /// </summary>
    public static byte[] Fingerprint(PresenceMessage message)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        AppendText(hash, message.Id);
        if (message.Data.Text is { } text)
        {
            hash.AppendData([Text]);
            AppendText(hash, text);
        }
        else if (message.Data.Bytes is { } bytes)
        {
            hash.AppendData([Binary]);
            hash.AppendData(BitConverter.GetBytes(bytes.Length));
            hash.AppendData(bytes);
        }
        else
        {
            hash.AppendData([Absent]);
        }

        AppendText(hash, message.Encoding);
        AppendText(hash, message.Extras?.ToString() ?? string.Empty);
        return hash.GetHashAndReset();
    }

    /// <summary>
    /// Reads the events <c>presence_apply.lua</c> published: version, count, then per event its action, the message,
    /// and for a leave without data of its own the member's stored message, whose data and encoding it carries.
    /// </summary>
    public static IReadOnlyList<PresenceMessage> DecodeEvents(ReadOnlyMemory<byte> payload)
    {
        var sequence = new ReadOnlySequence<byte>(payload);
        var reader = new MessagePackReader(sequence);
        var version = reader.ReadInt32();
        if (version < EventsVersion)
        {
            throw new InvalidDataException($"Unsupported presence events version {version}");
        }

        var count = reader.ReadInt32();
        var events = new PresenceMessage[count];
        for (var i = 0; i < count; i++)
        {
            var action = (PresenceAction)reader.ReadInt32();
            var start = reader.Position;
            reader.Skip();
            var message = Decode(sequence.Slice(start, reader.Position));
            message.Action = action;
            if (reader.TryReadNil())
            {
                events[i] = message;
                continue;
            }

            start = reader.Position;
            reader.Skip();
            var last = Decode(sequence.Slice(start, reader.Position));
            if (message.Data.IsNone)
            {
                message.Data = last.Data;
                message.Encoding = last.Encoding;
            }

            events[i] = message;
        }

        return events;
    }

    private static void AppendText(IncrementalHash hash, string? text)
    {
        if (text is null)
        {
            hash.AppendData([Absent]);
            return;
        }

        var bytes = Encoding.UTF8.GetBytes(text);
        hash.AppendData([Text]);
        hash.AppendData(BitConverter.GetBytes(bytes.Length));
        hash.AppendData(bytes);
    }
}
