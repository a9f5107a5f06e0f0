using System.Text;
using TokenWire.Protocol;
using TokenWire.Protocol.Deltas;
using TokenWire.Protocol.Serials;
using TokenWire.Server.Channels;
using TokenWire.Server.Fanout;

namespace TokenWire.Server.Tests.Channels;

public sealed class DeltaChainTests
{
    private long _offset;

    [Fact]
    public void First_message_goes_whole_and_later_ones_as_deltas_against_the_one_before()
    {
        var chain = new DeltaChain();
        var first = Json("m0", """{"foo":"bar","count":0,"status":"active"}""");
        var second = Json("m1", """{"foo":"bar","count":1,"status":"active"}""");

        var sent = Send(chain, first, second);

        Assert.Same(first, sent[0]);
        Assert.Equal("json/utf-8/vcdiff", sent[1].Message.Encoding);
        Assert.Equal("""{"foo":"bar","count":1,"status":"active"}""", Apply(sent[1], first));
        var delta = sent[1].Message.Extras!.ToElement().GetProperty("delta");
        Assert.Equal("m0", delta.GetProperty("from").GetString());
        Assert.Equal("vcdiff", delta.GetProperty("format").GetString());
    }

    [Fact]
    public void Text_and_binary_get_their_encodings_and_publisher_extras_are_kept()
    {
        var chain = new DeltaChain();
        var text0 = Text("t0", "the same long enough sentence, and then some");
        var text1 = Text("t1", "the same long enough sentence, and then some more");
        text1.Message.Extras = JsonPayload.Parse("""{"headers":{"k":"v"}}""");
        var bin0 = Binary("b0", Enumerable.Range(0, 100).Select(i => (byte)i).ToArray());
        var bin1 = Binary("b1", Enumerable.Range(0, 101).Select(i => (byte)i).ToArray());

        var sent = Send(chain, text0, text1, bin0, bin1);

        Assert.Equal("utf-8/vcdiff", sent[1].Message.Encoding);
        Assert.Equal("v", sent[1].Message.Extras!.ToElement().GetProperty("headers").GetProperty("k").GetString());
        Assert.Same(bin0, sent[2]); // binary from text: the delta is not smaller
        Assert.Equal("vcdiff", sent[3].Message.Encoding);
        Assert.Equal(bin1.Message.Data.Bytes, VcdiffDecoder.Decode(sent[3].Message.Data.Bytes, bin0.Message.Data.Bytes));
    }

    [Fact]
    public void No_base_after_a_message_without_data_a_fragment_or_a_cipher()
    {
        var chain = new DeltaChain();
        var text = "a long enough text that a delta would pay off nicely";
        var noData = Delivered(new Message { Id = "n", Name = "ping" });
        var append = Delivered(new Message { Id = "a", Data = MessageData.FromText(" tail"), Action = MessageActions.Append, Serial = "s" });
        var cipher = Delivered(new Message { Id = "c", Data = MessageData.FromBytes(Encoding.UTF8.GetBytes(text)), Encoding = "utf-8/cipher+aes-128-cbc" });

        var sent = Send(chain, Text("x0", text), noData, Text("x1", text), append, Text("x2", text), cipher, Text("x3", text), Text("x4", text));

        Assert.Equal([false, false, false, false, false, false, false, true], sent.Select(m => m.Message.Extras is not null).ToArray());
    }

    [Fact]
    public void A_frame_outside_the_chain_resets_it()
    {
        var chain = new DeltaChain();
        var text = "a long enough text that a delta would pay off nicely";
        Send(chain, Text("y0", text));

        chain.Reset();

        var next = chain.Apply(new MessageBatch("ch", "serial", [Text("y1", text), Text("y2", text)]), out var rest);
        Assert.Null(next.Messages[0].Message.Encoding);
        Assert.NotNull(rest);
        Assert.True(rest.StartsFrame);
    }

    [Fact]
    public void Not_smaller_goes_whole()
    {
        var chain = new DeltaChain();

        var sent = Send(chain, Text("s0", "abc"), Text("s1", "abd"), Text("s2", "completely unrelated words here"));

        Assert.All(sent, m => Assert.Null(m.Message.Encoding));
    }

    [Fact]
    public void Subscribers_sharing_a_base_share_one_encoded_delta()
    {
        var first = Text("p0", "a shared response that grows token by token");
        var second = Text("p1", "a shared response that grows token by token, like this");
        var a = Send(new DeltaChain(), first, second);
        var b = Send(new DeltaChain(), first, second);

        Assert.Same(a[1], b[1]);

        // A replay's own copy of the same base still hits.
        var copy = new DeliveredMessage(first.Message.Clone(), first.Offset);
        copy.Message.Data = MessageData.FromText(new string(first.Message.Data.Text));
        var chain = new DeltaChain();
        Send(chain, copy);
        Assert.Same(a[1], Send(chain, second)[0]);
    }

    [Fact]
    public void A_batch_chains_message_by_message_and_its_first_delta_after_a_whole_message_starts_a_frame()
    {
        var chain = new DeltaChain();
        var messages = Enumerable.Range(0, 5).Select(i => Text($"r{i}", "repeated base text for a chain " + new string('!', i))).ToArray();
        var batch = new MessageBatch("ch", new LogPosition("01764147600000", messages[^1].Offset).ToSerial(), messages);

        var first = chain.Apply(batch, out var rest);

        // The whole message alone, bringing the client to its own serial; the deltas after it in a frame of their own.
        Assert.Same(messages[0], Assert.Single(first.Messages));
        Assert.Equal(new LogPosition("01764147600000", messages[0].Offset).ToSerial(), first.ChannelSerial);
        Assert.False(first.StartsFrame);
        Assert.NotNull(rest);
        Assert.True(rest.StartsFrame);
        Assert.True(rest.ComposedFromMessages);
        Assert.Equal(batch.ChannelSerial, rest.ChannelSerial);
        var sent = first.Messages.Concat(rest.Messages).ToArray();
        for (var i = 1; i < messages.Length; i++)
        {
            Assert.Equal(messages[i].Message.Data.Text, Apply(sent[i], messages[i - 1]));
        }

        // Deltas after deltas go on in the same frame; a batch that needs no delta is the shared batch itself.
        var next = chain.Apply(new MessageBatch("ch", "serial", [Text("r5", "repeated base text for a chain !!!!!?")]), out rest);
        Assert.Null(rest);
        Assert.False(next.StartsFrame);
        Assert.NotNull(next.Messages[0].Message.Encoding);
        var unchanged = new MessageBatch("ch", "serial", [Text("u", "zz")]);
        Assert.Same(unchanged, chain.Apply(unchanged, out rest));
        Assert.Null(rest);
    }

    private static string Apply(DeliveredMessage delta, DeliveredMessage baseMessage) =>
        Encoding.UTF8.GetString(VcdiffDecoder.Decode(delta.Message.Data.Bytes, Encoding.UTF8.GetBytes(baseMessage.Message.Data.Text!)));

    private static List<DeliveredMessage> Send(DeltaChain chain, params DeliveredMessage[] messages) =>
        [.. messages.Select(m => chain.Apply(new MessageBatch("ch", "serial", [m]), out _).Messages[0])];

    private DeliveredMessage Json(string id, string json) => Delivered(new Message { Id = id, Data = MessageData.FromText(json), Encoding = "json" });

    private DeliveredMessage Text(string id, string text) => Delivered(new Message { Id = id, Data = MessageData.FromText(text) });

    private DeliveredMessage Binary(string id, byte[] bytes) => Delivered(new Message { Id = id, Data = MessageData.FromBytes(bytes) });

    private DeliveredMessage Delivered(Message message) => new(message, ++_offset);
}
