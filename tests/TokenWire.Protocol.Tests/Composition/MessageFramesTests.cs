using System.Buffers;

namespace TokenWire.Protocol.Tests.Composition;

/// <summary>A composed MESSAGE frame is byte for byte what the codec writes for the same ProtocolMessage, in both formats.</summary>
public sealed class MessageFramesTests
{
    private static readonly Message[] Messages =
    [
        new() { Id = "c1:0:0", Name = "token", Data = MessageData.FromText("héllo \"quoted\""), ClientId = "agent", ConnectionId = "c1", Timestamp = 1796000000000, Action = 0, Serial = "01-000000000001", Extras = JsonPayload.Parse("""{"headers":{"index":"0"}}""") },
        new() { Id = "c1:1:0", Data = MessageData.FromBytes([0, 1, 255]), ConnectionId = "c1", Timestamp = 1796000000001, Action = 5, Serial = "01-000000000001", Version = JsonPayload.Parse("""{"serial":"01-000000000002","timestamp":1796000000001}""") },
    ];

    [Theory]
    [InlineData(WireFormat.Json)]
    [InlineData(WireFormat.MessagePack)]
    public void Composed_from_encoded_messages_or_from_messages_equals_the_codec_frame(WireFormat format)
    {
        var codec = ProtocolCodecs.For(format);
        var expected = codec.Encode(new ProtocolMessage(ProtocolAction.Message) { Channel = "mutable:chat \u00e9", ChannelSerial = "01-000000000002", Messages = Messages });

        var parts = Messages.Select(m =>
        {
            var buffer = new ArrayBufferWriter<byte>();
            codec.WriteMessage(m, buffer);
            return (ReadOnlyMemory<byte>)buffer.WrittenMemory.ToArray();
        }).ToArray();
        var fromParts = new ArrayBufferWriter<byte>();
        MessageFrames.Write(format, "mutable:chat \u00e9", "01-000000000002", parts, fromParts);
        var direct = new ArrayBufferWriter<byte>();
        MessageFrames.Write(format, "mutable:chat \u00e9", "01-000000000002", Messages, direct);

        Assert.Equal(expected, fromParts.WrittenSpan.ToArray());
        Assert.Equal(expected, direct.WrittenSpan.ToArray());
        var decoded = codec.Decode(direct.WrittenMemory);
        Assert.Equal(["héllo \"quoted\"", null], decoded.Messages!.Select(m => m.Data.Text));
    }

    [Theory]
    [InlineData(WireFormat.Json)]
    [InlineData(WireFormat.MessagePack)]
    public void A_frame_with_its_own_connection_and_timestamp_equals_the_codec_frame(WireFormat format)
    {
        var codec = ProtocolCodecs.For(format);
        var without = Messages.Select(m =>
        {
            var copy = m.Clone();
            copy.ConnectionId = null;
            copy.Timestamp = null;
            return copy;
        }).ToArray();
        var expected = codec.Encode(new ProtocolMessage(ProtocolAction.Message) { Channel = "c", ChannelSerial = "01-000000000002", ConnectionId = "c1", Timestamp = 1796000000000, Messages = without });

        var parts = without.Select(m =>
        {
            var buffer = new ArrayBufferWriter<byte>();
            codec.WriteMessage(m, buffer);
            return (ReadOnlyMemory<byte>)buffer.WrittenMemory.ToArray();
        }).ToArray();
        var composed = new ArrayBufferWriter<byte>();
        MessageFrames.Write(format, "c", "01-000000000002", parts, composed, connectionId: "c1", timestamp: 1796000000000);

        Assert.Equal(expected, composed.WrittenSpan.ToArray());
    }
}
