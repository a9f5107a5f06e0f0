using System.Buffers;
using System.Text;
using TokenWire.Protocol;

namespace TokenWire.Protocol.Tests.Batch;

/// <summary>The REST batch publish body (<c>POST /messages</c>) as both codecs read it.</summary>
public sealed class BatchPublishReadTests
{
    private static IReadOnlyList<BatchPublishSpec> ReadJson(string json) =>
        ProtocolCodecs.For(WireFormat.Json).ReadBatchPublish(new ReadOnlySequence<byte>(Encoding.UTF8.GetBytes(json)));

    private static IReadOnlyList<BatchPublishSpec> ReadMsgpack(object value) =>
        ProtocolCodecs.For(WireFormat.MessagePack).ReadBatchPublish(new ReadOnlySequence<byte>(global::MessagePack.MessagePackSerializer.Serialize(value)));

    [Fact]
    public void Json_reads_one_spec_or_an_array_with_single_or_many_messages()
    {
        var single = ReadJson("""{"channels":["a","b"],"messages":{"name":"n","data":"d"}}""");
        var many = ReadJson("""[{"channels":"a","messages":[{"data":"AAE=","encoding":"base64"},{"data":{"x":1}}],"extra":true},{"channels":["c"],"messages":[]}]""");

        Assert.Equal(["a", "b"], Assert.Single(single).Channels);
        Assert.Equal("d", single[0].Messages[0].Data.Text);
        Assert.Equal(2, many.Count);
        Assert.Equal(["a"], many[0].Channels);
        Assert.Equal(new byte[] { 0, 1 }, many[0].Messages[0].Data.Bytes);
        Assert.Null(many[0].Messages[0].Encoding);
        Assert.Equal("json", many[0].Messages[1].Encoding);
        Assert.Empty(many[1].Messages);
    }

    [Fact]
    public void Msgpack_reads_binary_data_as_bytes()
    {
        var specs = ReadMsgpack(new object[]
        {
            new Dictionary<string, object> { ["channels"] = new[] { "a" }, ["messages"] = new Dictionary<string, object> { ["name"] = "bin", ["data"] = new byte[] { 9, 8 } } },
        });

        var message = Assert.Single(Assert.Single(specs).Messages);
        Assert.Equal("bin", message.Name);
        Assert.Equal(new byte[] { 9, 8 }, message.Data.Bytes);
    }

    [Theory]
    [InlineData("""{"channels":[1],"messages":[]}""")]
    [InlineData("""{"channels":{"a":1},"messages":[]}""")]
    [InlineData("""{"channels":["a"],"messages":[{"data":"!!","encoding":"base64"}]}""")]
    [InlineData("""[{"channels":["a"]""")]
    [InlineData("""42""")]
    public void Json_malformed_bodies_are_refused_with_an_Ably_error(string json)
    {
        var error = Assert.Throws<ProtocolException>(() => ReadJson(json));

        Assert.InRange(error.Error.Code, 40000, 40099);
    }

    [Fact]
    public void Msgpack_malformed_bodies_are_refused_with_an_Ably_error()
    {
        var error = Assert.Throws<ProtocolException>(() => ReadMsgpack(new Dictionary<string, object> { ["channels"] = 5 }));

        Assert.InRange(error.Error.Code, 40000, 40099);
    }
}
