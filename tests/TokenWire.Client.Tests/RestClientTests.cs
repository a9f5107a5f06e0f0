using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using TokenWire.Client.Tests.Support;
using TokenWire.Protocol;

namespace TokenWire.Client.Tests;

[Collection(ServerCollection.Name)]
public sealed partial class RestClientTests(ServerFixture server)
{
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Publish_and_history_round_trip_string_json_binary_and_extras(bool binary)
    {
        using var rest = new RestClient(server.Options(binary));
        var name = Wait.UniqueChannel("rest");
        var json = new JsonObject { ["token"] = "Hi", ["list"] = new JsonArray(1, 2) };
        var extras = new JsonObject { ["headers"] = new JsonObject { ["responseId"] = "r-9" } };

        var text = await rest.PublishAsync(name, "text", "plain", extras).Within();
        var batch = await rest.PublishAsync(name, [Messages.Create("json", json), Messages.Create("binary", new byte[] { 1, 2, 3 })]).Within();
        Assert.Single(text.Serials);
        Assert.Equal(2, batch.Serials.Count);

        var page = await rest.HistoryAsync(name).Within();
        Assert.False(page.HasNext);
        var messages = page.Items;
        Assert.Equal(["binary", "json", "text"], messages.Select(m => m.Name));
        Assert.Equal([1, 2, 3], messages[0].GetBytes());
        Assert.True(JsonNode.DeepEquals(json, JsonNode.Parse(messages[1].GetJson()!.Value.GetRawText())));
        Assert.Equal("plain", messages[2].GetText());
        Assert.Equal("r-9", messages[2].GetHeader("responseId"));
        Assert.Equal([.. batch.Serials.Reverse(), text.Serials[0]], messages.Select(m => m.Serial));
        Assert.All(messages, m => Assert.NotNull(m.Timestamp));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task History_pages_follow_the_link_header(bool binary)
    {
        using var rest = new RestClient(server.Options(binary));
        var name = Wait.UniqueChannel("rest-paging");
        for (var i = 0; i < 5; i++)
        {
            await rest.PublishAsync(name, "m", $"m{i}").Within();
        }

        var page = await rest.HistoryAsync(name, new HistoryRequest { Limit = 2, Direction = HistoryDirection.Forwards }).Within();
        var pages = new List<string?[]> { page.Items.Select(m => m.GetText()).ToArray() };
        while (page.HasNext)
        {
            page = await page.NextAsync().Within();
            pages.Add(page.Items.Select(m => m.GetText()).ToArray());
        }

        Assert.Equal([["m0", "m1"], ["m2", "m3"], ["m4"]], pages);
        Assert.Throws<ArgumentException>(() => { _ = rest.HistoryAsync(name, new HistoryRequest { UntilAttach = true }); });
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Publish_without_ids_assigns_idempotent_ids_and_a_repeated_id_is_stored_once(bool binary)
    {
        using var rest = new RestClient(server.Options(binary));
        var name = Wait.UniqueChannel("idempotent");

        await rest.PublishAsync(name, [Messages.Create("a", "1"), Messages.Create("b", "2")]).Within();
        var ids = (await rest.HistoryAsync(name, new HistoryRequest { Direction = HistoryDirection.Forwards }).Within()).Items.Select(m => m.Id!).ToList();
        Assert.Equal(2, ids.Count);
        Assert.Matches(IdempotentId(), ids[0]);
        Assert.EndsWith(":0", ids[0], StringComparison.Ordinal);
        Assert.Equal(ids[0][..^2] + ":1", ids[1]);

        // A retried request carries the same ids: the server acknowledges it but stores the messages once.
        var retried = new Message { Id = "fixed-id:0", Name = "retry", Data = MessageData.FromText("x") };
        var first = await rest.PublishAsync(name, [retried]).Within();
        var second = await rest.PublishAsync(name, [retried]).Within();
        Assert.Equal(first.Serials, second.Serials);
        var history = (await rest.HistoryAsync(name).Within()).Items;
        Assert.Single(history, m => m.Id == "fixed-id:0");
        Assert.Equal(3, history.Count);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Time_and_channel_status_are_read_from_the_server(bool binary)
    {
        await using var realtime = new RealtimeClient(server.Options(binary));
        var name = Wait.UniqueChannel("status");
        var channel = realtime.Channels.Get(name);
        await channel.AttachAsync().Within();
        await channel.PublishAsync("m", "x").Within();

        // The realtime client's REST API shares its credentials and HttpClient.
        var time = await realtime.Rest.TimeAsync().Within();
        Assert.True(time > new DateTimeOffset(2024, 1, 1, 0, 0, 0, TimeSpan.Zero));

        var status = await realtime.Rest.ChannelStatusAsync(name).Within();
        Assert.Equal(name, status.ChannelId);
        Assert.True(status.IsActive);
        Assert.True(status.Occupancy.Connections >= 1);
        Assert.True(status.Occupancy.Subscribers >= 1);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Errors_come_back_as_AblyException_with_the_server_error(bool binary)
    {
        using var subscribeOnly = new RestClient(server.Options(binary, ServerFixture.SubscribeOnlyKey));
        var denied = await Assert.ThrowsAsync<AblyException>(() => subscribeOnly.PublishAsync(Wait.UniqueChannel("denied"), "n", "d"));
        Assert.Equal(40160, denied.Code);
        Assert.Equal(401, denied.StatusCode);

        using var wrongKey = new RestClient(server.Options(binary, "dev.root:nope"));
        var unauthorized = await Assert.ThrowsAsync<AblyException>(() => wrongKey.HistoryAsync("x"));
        Assert.Equal(40101, unauthorized.Code);
    }

    [GeneratedRegex("^[A-Za-z0-9+/]{12}:0$")]
    private static partial Regex IdempotentId();
}
