using System.Globalization;
using TokenWire.Client.Tests.Support;
using TokenWire.Protocol;

namespace TokenWire.Client.Tests;

[Collection(ServerCollection.Name)]
public sealed class PublishPipelineTests(ServerFixture server)
{
    private const int Count = 10_000;

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Ten_thousand_pipelined_publishes_are_all_acknowledged_and_delivered_in_order(bool binary)
    {
        await using var publisher = new RealtimeClient(server.Options(binary));
        await using var subscriber = new RealtimeClient(server.Options(binary));
        var name = Wait.UniqueChannel("pipeline");
        var inbound = subscriber.Channels.Get(name);
        var subscription = inbound.SubscribeAsync();
        await inbound.AttachAsync().Within();

        var outbound = publisher.Channels.Get(name);
        await publisher.ConnectAsync().Within();

        // Fire all without awaiting any: order comes from msgSerial, not from the caller waiting.
        var publishes = new Task<PublishResult>[Count];
        for (var i = 0; i < Count; i++)
        {
            publishes[i] = outbound.PublishAsync("n", i.ToString(CultureInfo.InvariantCulture));
        }

        var results = await Task.WhenAll(publishes).Within(TimeSpan.FromSeconds(120));
        for (var i = 1; i < Count; i++)
        {
            Assert.True(
                string.CompareOrdinal(results[i - 1].Serials[0], results[i].Serials[0]) < 0,
                $"serial of publish {i} does not follow publish {i - 1}");
        }

        var received = await subscription.ReadAsync(Count, TimeSpan.FromSeconds(120));
        for (var i = 0; i < Count; i++)
        {
            Assert.Equal(i.ToString(CultureInfo.InvariantCulture), received[i].GetText());
            Assert.Equal(results[i].Serials[0], received[i].Serial);
        }

        Assert.Equal(0, subscription.DroppedCount);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_batch_is_one_publish_with_one_serial_per_message(bool binary)
    {
        await using var client = new RealtimeClient(server.Options(binary));
        var channel = client.Channels.Get(Wait.UniqueChannel("batch"));
        var subscription = channel.SubscribeAsync();
        await channel.AttachAsync().Within();

        var result = await channel.PublishAsync([Messages.Create("a", "1"), Messages.Create("b", new { x = 1 }), Messages.Create("c", new byte[] { 9 })]).Within();
        Assert.Equal(3, result.Serials.Count);
        var received = await subscription.ReadAsync(3);
        Assert.Equal(result.Serials, received.Select(m => m.Serial));
        Assert.Equal(1, received[1].GetJson()!.Value.GetProperty("x").GetInt32());
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_nack_faults_the_publish_with_an_AblyException_carrying_the_error(bool binary)
    {
        await using var client = new RealtimeClient(server.Options(binary, key: ServerFixture.SubscribeOnlyKey));
        var channel = client.Channels.Get(Wait.UniqueChannel("nack"));
        await channel.AttachAsync().Within();

        var failures = await Task.WhenAll(Enumerable.Range(0, 3).Select(async i =>
            await Assert.ThrowsAsync<AblyException>(() => channel.PublishAsync("n", i.ToString(CultureInfo.InvariantCulture)).Within())));
        foreach (var failure in failures)
        {
            Assert.Equal(40160, failure.Code);
            Assert.Equal(401, failure.StatusCode);
            Assert.Equal(40160, failure.ErrorInfo.Code);
        }

        // A NACK is per publish: the connection and the channel carry on.
        Assert.Equal(ConnectionState.Connected, client.Connection.State);
        Assert.Equal(ChannelState.Attached, channel.State);
    }

    [Fact]
    public async Task A_message_larger_than_maxMessageSize_is_refused_locally_with_40009()
    {
        await using var client = new RealtimeClient(server.Options(binary: true));
        await client.ConnectAsync().Within();
        var channel = client.Channels.Get(Wait.UniqueChannel("large"));
        var tooBig = new string('x', client.Connection.Details!.MaxMessageSize + 1);
        var error = await Assert.ThrowsAsync<AblyException>(() => channel.PublishAsync("big", tooBig));
        Assert.Equal(ErrorCodes.MessageTooLarge, error.Code);
    }
}
