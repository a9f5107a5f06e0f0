using System.Globalization;
using TokenWire.Protocol;

namespace TokenWire.LoadTest.Tests;

/// <summary>
/// The load generator writes its publishes into a buffer it reuses and scans ACKs without decoding them, so that its
/// own allocation does not differ by target; what it sends and reads must still be exactly what the codecs make.
/// </summary>
public sealed class WireTests
{
    private static readonly DateTime Due = new(2026, 12, 7, 18, 0, 0, DateTimeKind.Utc);

    [Theory]
    [InlineData(WireFormat.Json)]
    [InlineData(WireFormat.MessagePack)]
    public void Each_publish_is_the_message_the_codec_would_encode_for_its_own_serial_and_time(WireFormat format)
    {
        var client = new AblyTargetClient(format, "k:s", DecodeMode.Fast);
        var codec = ProtocolCodecs.For(format);

        var first = codec.Decode(client.EncodePublish("chan-a", 0, Due).ToArray());
        var second = codec.Decode(client.EncodePublish("chan-b", 41, Due.AddMilliseconds(7)).ToArray());

        AssertPublish(first, "chan-a", 0, Due);
        AssertPublish(second, "chan-b", 41, Due.AddMilliseconds(7));
    }

    [Theory]
    [InlineData(WireFormat.Json)]
    [InlineData(WireFormat.MessagePack)]
    public void An_ack_is_read_without_decoding_it_and_anything_else_is_left_to_the_codec(WireFormat format)
    {
        var codec = ProtocolCodecs.For(format);
        var client = new AblyTargetClient(format, "k:s", DecodeMode.Fast);
        byte[] Encode(ProtocolMessage message) => codec.Encode(message);

        var ack = new ProtocolMessage(ProtocolAction.Ack) { MsgSerial = 12, Count = 3, Res = [new PublishResult(["s1", "s2", "s3"])] };
        Assert.True(FrameScanner.TryScanAck(format, Encode(ack), out var serial, out var count));
        Assert.Equal((12, 3), (serial, count));

        Assert.True(FrameScanner.TryScanAck(format, Encode(new ProtocolMessage(ProtocolAction.Ack) { MsgSerial = 4 }), out serial, out count));
        Assert.Equal((4, 1), (serial, count));

        var nack = new ProtocolMessage(ProtocolAction.Nack) { MsgSerial = 5, Count = 1, Error = new ErrorInfo(40000, 400, "bad") };
        Assert.False(FrameScanner.TryScanAck(format, Encode(nack), out _, out _));
        Assert.Equal(PublisherReplyKind.Nack, client.ReadReply(Encode(nack)).Kind);
        Assert.Equal(new PublisherReply(PublisherReplyKind.Ack, 12, 3), client.ReadReply(Encode(ack)));
    }

    [Fact]
    public void The_raw_message_is_57_bytes_and_reads_back_for_each_serial_and_time()
    {
        var client = new RawTargetClient(DecodeMode.Fast, acks: false);

        foreach (var seq in new long[] { 0, 7, 1_234_567 })
        {
            var message = client.EncodePublish("c", seq, Due.AddTicks(seq));

            Assert.Equal(RawPayload.Length, message.Length);
            Assert.True(RawPayload.TryRead(message.Span, out var readSeq, out var ticks));
            Assert.Equal((seq, Due.AddTicks(seq).Ticks), (readSeq, ticks));
        }
    }

    private static void AssertPublish(ProtocolMessage publish, string channel, long serial, DateTime due)
    {
        Assert.Equal(ProtocolAction.Message, publish.Action);
        Assert.Equal(channel, publish.Channel);
        Assert.Equal(serial, publish.MsgSerial);
        var message = Assert.Single(publish.Messages!);
        Assert.Equal(Payload.Name, message.Name);
        Assert.Equal(Payload.Data, message.Data.Text);
        Assert.Equal(Payload.Encoding, message.Encoding);
        var headers = message.Extras!.ToElement().GetProperty("headers");
        Assert.Equal(Payload.ResponseId, headers.GetProperty("responseId").GetString());
        Assert.Equal(due.Ticks.ToString(CultureInfo.InvariantCulture), headers.GetProperty("sentAt").GetString());
    }
}
