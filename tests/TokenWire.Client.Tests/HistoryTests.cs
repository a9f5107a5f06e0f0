using System.Globalization;
using TokenWire.Client.Tests.Support;

namespace TokenWire.Client.Tests;

[Collection(ServerCollection.Name)]
public sealed class HistoryTests(ServerFixture server)
{
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task History_until_attach_returns_exactly_the_messages_published_before_attaching(bool binary)
    {
        var name = Wait.UniqueChannel("until-attach");
        await using var publisher = new RealtimeClient(server.Options(binary));
        var source = publisher.Channels.Get(name);
        await Task.WhenAll(Enumerable.Range(0, 5).Select(i => source.PublishAsync("before", "b" + i.ToString(CultureInfo.InvariantCulture)))).Within();

        await using var client = new RealtimeClient(server.Options(binary));
        var channel = client.Channels.Get(name);
        var live = channel.SubscribeAsync();
        await channel.AttachAsync().Within();
        await Task.WhenAll(Enumerable.Range(0, 3).Select(i => source.PublishAsync("after", "a" + i.ToString(CultureInfo.InvariantCulture)))).Within();
        Assert.Equal(["a0", "a1", "a2"], (await live.ReadAsync(3)).Select(m => m.GetText()));

        // Pages of two, newest first, following Link rel="next" until the last page.
        var page = await channel.HistoryAsync(new HistoryRequest { UntilAttach = true, Limit = 2 }).Within();
        var texts = new List<string?>();
        var pages = 1;
        texts.AddRange(page.Items.Select(m => m.GetText()));
        while (page.HasNext)
        {
            page = await page.NextAsync().Within();
            pages++;
            texts.AddRange(page.Items.Select(m => m.GetText()));
        }

        Assert.Equal(["b4", "b3", "b2", "b1", "b0"], texts);
        Assert.Equal(3, pages);
        Assert.True(page.IsLast);
        await Assert.ThrowsAsync<InvalidOperationException>(() => page.NextAsync());

        // Without untilAttach the later messages are there too; forwards is oldest first.
        var all = new List<string?>();
        await foreach (var message in (await channel.HistoryAsync(new HistoryRequest { Direction = HistoryDirection.Forwards, Limit = 3 }).Within()).ToAsyncEnumerable())
        {
            all.Add(message.GetText());
        }

        Assert.Equal(["b0", "b1", "b2", "b3", "b4", "a0", "a1", "a2"], all);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task History_until_attach_needs_an_attached_channel(bool binary)
    {
        await using var client = new RealtimeClient(server.Options(binary));
        var channel = client.Channels.Get(Wait.UniqueChannel("not-attached"));
        var error = await Assert.ThrowsAsync<AblyException>(() => channel.HistoryAsync(new HistoryRequest { UntilAttach = true }));
        Assert.Equal(90001, error.Code);
    }
}
