namespace TokenWire.Protocol.Tests;

/// <summary><see cref="Message.Timestamp"/> is kept as a plain long with a value no message has for "absent".</summary>
public sealed class MessageFieldsTests
{
    [Fact]
    public void Timestamp_is_absent_until_set_and_reads_back_every_value_a_message_has()
    {
        var message = new Message();
        Assert.Null(message.Timestamp);

        foreach (var value in new long[] { 0, 1, -1, 1_765_000_000_000, long.MaxValue, long.MinValue + 1 })
        {
            message.Timestamp = value;
            Assert.Equal(value, message.Timestamp);
            Assert.Equal(value, message.Clone().Timestamp);
        }

        message.Timestamp = null;
        Assert.Null(message.Timestamp);
        Assert.Null(message.Clone().Timestamp);
    }
}
