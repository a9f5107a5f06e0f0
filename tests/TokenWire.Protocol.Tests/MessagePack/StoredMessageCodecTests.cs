using System.Buffers;
using System.Text;
using MessagePack;
using TokenWire.Protocol.MessagePack;

namespace TokenWire.Protocol.Tests.MessagePack;

/// <summary>The form both engines retain messages in: every field but the position, which the log gives back.</summary>
public sealed class StoredMessageCodecTests
{
    [Fact]
    public void A_message_round_trips_without_its_serial_and_timestamp()
    {
        var message = new Message
        {
            Id = "conn:7:0",
            Name = "token",
            Data = MessageData.FromText("héllo"),
            Encoding = "utf-8",
            ClientId = "ada",
            ConnectionId = "conn",
            Timestamp = 1_733_500_000_000,
            Extras = new JsonPayload(Encoding.UTF8.GetBytes("""{"headers":{"responseId":"r1"}}""")),
            Action = 0,
            Serial = "epoch@000000000000000001",
            Version = new JsonPayload(Encoding.UTF8.GetBytes("""{"serial":"v1"}""")),
        };

        var stored = StoredMessageCodec.Encode(message);
        var decoded = StoredMessageCodec.Decode(new ReadOnlySequence<byte>(stored));

        Assert.Null(decoded.Serial);
        Assert.Null(decoded.Timestamp);
        Assert.Equal(message.Id, decoded.Id);
        Assert.Equal(message.Name, decoded.Name);
        Assert.Equal("héllo", decoded.Data.Text);
        Assert.Equal(message.Encoding, decoded.Encoding);
        Assert.Equal(message.ClientId, decoded.ClientId);
        Assert.Equal(message.ConnectionId, decoded.ConnectionId);
        Assert.Equal(0, decoded.Action);
        Assert.Equal("""{"headers":{"responseId":"r1"}}""", decoded.Extras?.ToString());
        Assert.Equal("""{"serial":"v1"}""", decoded.Version?.ToString());
        // The message given to the codec is not changed by it.
        Assert.Equal("epoch@000000000000000001", message.Serial);
        Assert.Equal(1_733_500_000_000, message.Timestamp);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(31)]
    [InlineData(32)]
    [InlineData(255)]
    [InlineData(256)]
    [InlineData(70_000)]
    public void The_id_is_read_back_from_the_stored_bytes_alone(int length)
    {
        var id = string.Concat(Enumerable.Range(0, length).Select(i => i % 7 == 0 ? "é" : "x"))[..length];
        var stored = StoredMessageCodec.Encode(new Message { Id = id, Name = "n", Data = MessageData.FromText("d"), ConnectionId = "c" });

        Assert.Equal(Encoding.UTF8.GetBytes(id), StoredMessageCodec.IdOf(stored).ToArray());
    }

    [Fact]
    public void A_message_without_an_id_reads_back_no_id()
    {
        Assert.True(StoredMessageCodec.IdOf(StoredMessageCodec.Encode(new Message { Name = "id", Data = MessageData.FromText("id") })).IsEmpty);
        Assert.True(StoredMessageCodec.IdOf(StoredMessageCodec.Encode(new Message())).IsEmpty);
    }

    [Fact]
    public void The_id_is_read_back_after_a_map16_header()
    {
        var buffer = new ArrayBufferWriter<byte>();
        var writer = new MessagePackWriter(buffer);
        writer.WriteMapHeader(16);
        writer.Write("id");
        writer.Write("conn:1:0");
        for (var i = 1; i < 16; i++)
        {
            writer.Write($"k{i}");
            writer.Write(i);
        }

        writer.Flush();

        Assert.Equal(0xde, buffer.WrittenSpan[0]);
        Assert.Equal("conn:1:0"u8.ToArray(), StoredMessageCodec.IdOf(buffer.WrittenSpan).ToArray());
    }

    [Fact]
    public void Binary_data_stays_binary()
    {
        var stored = StoredMessageCodec.Encode(new Message { Data = MessageData.FromBytes([0, 1, 254, 255]) });

        var decoded = StoredMessageCodec.Decode(new ReadOnlySequence<byte>(stored));

        Assert.Equal(new byte[] { 0, 1, 254, 255 }, decoded.Data.Bytes);
    }

    [Fact]
    public void The_stored_map_has_no_position_keys()
    {
        var stored = StoredMessageCodec.Encode(new Message { Id = "a:1:0", Serial = "s", Timestamp = 5, Action = 0 });

        var reader = new MessagePackReader(stored);
        var keys = new List<string>();
        for (var count = reader.ReadMapHeader(); count > 0; count--)
        {
            keys.Add(reader.ReadString()!);
            reader.Skip();
        }

        Assert.Equal(["id", "action"], keys);
    }
}
