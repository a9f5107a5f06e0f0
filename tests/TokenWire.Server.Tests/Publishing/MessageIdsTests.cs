using TokenWire.Protocol;
using TokenWire.Server.Publishing;

namespace TokenWire.Server.Tests.Publishing;

public sealed class MessageIdsTests
{
    [Fact]
    public void Rest_id_bases_are_twelve_alphanumeric_characters()
    {
        Assert.All(Enumerable.Range(0, 100).Select(_ => MessageIds.NewRestBase()), id => Assert.Matches("^[A-Za-z0-9]{12}$", id));
    }

    [Fact]
    public void A_rest_publish_without_ids_gets_one_random_base_indexed_per_message()
    {
        Message[] messages = [new() { Name = "a" }, new() { Name = "b" }];

        MessageIds.AssignForRest(messages);

        var idBase = MessageIds.BaseOf(messages[0].Id);
        Assert.Matches("^[A-Za-z0-9]{12}$", idBase);
        Assert.Equal([$"{idBase}:0", $"{idBase}:1"], messages.Select(m => m.Id));
    }

    [Fact]
    public void A_rest_publish_with_an_id_keeps_the_ids_it_was_given()
    {
        Message[] messages = [new() { Id = "mine:0" }, new() { Name = "b" }];

        MessageIds.AssignForRest(messages);

        Assert.Equal(["mine:0", null], messages.Select(m => m.Id));
    }

    [Theory]
    [InlineData(0L, 0)]
    [InlineData(7L, 2)]
    [InlineData(long.MaxValue, int.MaxValue)]
    public void A_realtime_id_is_the_connection_the_msgSerial_and_the_index(long msgSerial, int index)
    {
        Assert.Equal(MessageIds.For($"AbC123xyz:{msgSerial}", index), MessageIds.ForRealtime("AbC123xyz", msgSerial, index));
        Assert.Equal($"AbC123xyz:{msgSerial}:{index}", MessageIds.ForRealtime("AbC123xyz", msgSerial, index));
    }

    [Fact]
    public void A_realtime_publish_gives_ids_only_to_messages_without_one()
    {
        Message[] messages = [new() { Name = "a" }, new() { Id = "mine:0" }, new() { Name = "c" }];

        MessageIds.AssignMissing(messages, "conn", 12);

        Assert.Equal(["conn:12:0", "mine:0", "conn:12:2"], messages.Select(m => m.Id));
    }
}
