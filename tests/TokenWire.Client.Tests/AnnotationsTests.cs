using System.Text.Json;
using TokenWire.Client.Tests.Support;
using TokenWire.Protocol;

namespace TokenWire.Client.Tests;

/// <summary>
/// Annotations (spec RTAN, RSAN, TM2u) on a channel of the Development app's <c>mutable</c> namespace: two clients in
/// different wire formats annotate one message over realtime and REST; raw annotations reach the
/// annotation_subscribe attachment, every change reaches message subscribers as a typed <c>message.summary</c>, and
/// the same summary comes back with history, <c>GetMessageAsync</c>, and the annotations over REST.
/// </summary>
[Collection(ServerCollection.Name)]
public sealed class AnnotationsTests(ServerFixture server)
{
    private static readonly ChannelOptions AllModes = new()
    {
        Modes = ChannelModes.Publish | ChannelModes.Subscribe | ChannelModes.AnnotationPublish | ChannelModes.AnnotationSubscribe,
    };

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Annotations_from_two_clients_are_delivered_raw_and_summarized_live_and_over_rest(bool binary)
    {
        var name = Wait.UniqueChannel("mutable:annotations");
        await using var alice = new RealtimeClient(server.Options(binary) with { ClientId = "alice" });
        await using var bob = new RealtimeClient(server.Options(!binary) with { ClientId = "bob" });
        using var aliceRest = new RestClient(server.Options(binary) with { ClientId = "alice" });
        var aliceChannel = alice.Channels.Get(name, AllModes);
        var bobChannel = bob.Channels.Get(name, AllModes);
        var aliceMessages = aliceChannel.SubscribeAsync();
        var bobMessages = bobChannel.SubscribeAsync();
        var raw = bobChannel.Annotations.SubscribeAsync();
        var reactions = bobChannel.Annotations.SubscribeAsync("reaction:distinct.v1");
        await Task.WhenAll(aliceChannel.AttachAsync(), bobChannel.AttachAsync()).Within();
        Assert.Equal(AllModes.Modes, bobChannel.Modes & AllModes.Modes);

        var serial = (await aliceChannel.PublishAsync("answer", "The answer is 42").Within()).Serials[0]!;
        var message = Assert.Single(await bobMessages.ReadAsync(1));
        Assert.Equal(serial, message.Serial);

        // One at a time, so the final summary is known exactly.
        await bobChannel.Annotations.PublishAsync(message, Messages.CreateAnnotation("reaction:distinct.v1", "👍")).Within();
        await bobChannel.Annotations.PublishAsync(serial, Messages.CreateAnnotation("reaction:distinct.v1", "🎉")).Within();
        await aliceRest.PublishAnnotationAsync(name, serial, Messages.CreateAnnotation("reaction:distinct.v1", "👍")).Within();
        await bobChannel.Annotations.PublishAsync(serial, Messages.CreateAnnotation("views:total.v1")).Within();
        await aliceChannel.Annotations.PublishAsync(serial, Messages.CreateAnnotation("vote:unique.v1", "yes")).Within();
        await aliceChannel.Annotations.PublishAsync(serial, Messages.CreateAnnotation("vote:unique.v1", "no")).Within();
        await bobChannel.Annotations.PublishAsync(serial, Messages.CreateAnnotation("spam:flag.v1", data: new { reason = "off topic" })).Within();
        await aliceChannel.Annotations.PublishAsync(serial, Messages.CreateAnnotation("likes:multiple.v1", "x", count: 3)).Within();
        await bobChannel.Annotations.PublishAsync(serial, Messages.CreateAnnotation("likes:multiple.v1", "x", count: 2)).Within();
        await bobChannel.Annotations.DeleteAsync(serial, Messages.CreateAnnotation("reaction:distinct.v1", "🎉")).Within();
        var expected = new (string Type, string? Name, string ClientId, int Action)[]
        {
            ("reaction:distinct.v1", "👍", "bob", AnnotationActions.Create),
            ("reaction:distinct.v1", "🎉", "bob", AnnotationActions.Create),
            ("reaction:distinct.v1", "👍", "alice", AnnotationActions.Create),
            ("views:total.v1", null, "bob", AnnotationActions.Create),
            ("vote:unique.v1", "yes", "alice", AnnotationActions.Create),
            ("vote:unique.v1", "no", "alice", AnnotationActions.Create),
            ("spam:flag.v1", null, "bob", AnnotationActions.Create),
            ("likes:multiple.v1", "x", "alice", AnnotationActions.Create),
            ("likes:multiple.v1", "x", "bob", AnnotationActions.Create),
            ("reaction:distinct.v1", "🎉", "bob", AnnotationActions.Delete),
        };

        // Raw: every annotation, in order, on the other format's connection; a typed subscription sees its type only.
        var annotations = await ReadAsync(raw, expected.Length);
        Assert.Equal(expected, annotations.Select(a => (a.Type!, a.Name, a.ClientId!, a.Action ?? 0)));
        Assert.All(annotations, a => Assert.Equal(serial, a.MessageSerial));
        Assert.All(annotations, a => Assert.True(a.Serial is not null && a.Id is not null && a.Timestamp is not null));
        Assert.Equal("off topic", annotations[6].GetJson()!.Value.GetProperty("reason").GetString());
        Assert.Equal(expected.Count(e => e.Type == "reaction:distinct.v1"), (await ReadAsync(reactions, 4)).Count);
        Assert.Equal(0, reactions.Reader.Count);

        // Live: the message, then one message.summary per annotation, the last one final.
        var live = await aliceMessages.ReadAsync(1 + expected.Length);
        Assert.All(live.Skip(1), m => Assert.Equal((MessageActions.Summary, serial), (m.Action, m.Serial)));
        Assert.Equal(new SummaryTotal(1), live[4].GetSummary()!.GetTotal("views:total.v1"));
        AssertFinal(live[^1].GetSummary());

        // REST: the message with its summary, in history and on its own, and the annotations themselves, paged.
        AssertFinal(Assert.Single((await bobChannel.HistoryAsync().Within()).Items).GetSummary());
        AssertFinal((await aliceRest.GetMessageAsync(name, serial).Within()).GetSummary());
        var page = await bobChannel.Annotations.GetAsync(serial, limit: 4).Within();
        Assert.Equal(4, page.Items.Count);
        Assert.True(page.HasNext);
        var stored = await page.ToAsyncEnumerable().ToListAsync();
        Assert.Equal(expected, stored.Select(a => (a.Type!, a.Name, a.ClientId!, a.Action ?? 0)));
        Assert.Equal(annotations.Select(a => a.Serial), stored.Select(a => a.Serial));
        Assert.Equal("off topic", stored[6].GetJson()!.Value.GetProperty("reason").GetString());
    }

    [Fact]
    public async Task Annotating_needs_the_mode_a_mutable_namespace_and_a_valid_annotation()
    {
        await using var client = new RealtimeClient(server.Options(binary: true));
        var plain = client.Channels.Get(Wait.UniqueChannel("plain"), AllModes);
        var plainSerial = (await plain.PublishAsync("m", "x").Within()).Serials[0]!;
        var notMutable = await Assert.ThrowsAsync<AblyException>(() => plain.Annotations.PublishAsync(plainSerial, Messages.CreateAnnotation("r:total.v1")).Within());
        Assert.Equal(ErrorCodes.MutableMessagesNotEnabled, notMutable.Code);

        // A key without a clientId: flag.v1 counts clients, so it needs one (40003); the connection carries on.
        var channel = client.Channels.Get(Wait.UniqueChannel("mutable:rules"));
        await channel.AttachAsync().Within();
        var serial = (await channel.PublishAsync("m", "x").Within()).Serials[0]!;
        var anonymous = await Assert.ThrowsAsync<AblyException>(() => channel.Annotations.PublishAsync(serial, Messages.CreateAnnotation("spam:flag.v1")).Within());
        Assert.Equal(ErrorCodes.InvalidParameterValue, anonymous.Code);
        var badType = await Assert.ThrowsAsync<AblyException>(() => client.Rest.PublishAnnotationAsync(channel.Name, serial, Messages.CreateAnnotation("reaction")).Within());
        Assert.Equal(ErrorCodes.InvalidParameterValue, badType.Code);
        Assert.Equal(ConnectionState.Connected, client.Connection.State);

        // Attached with the default modes, which never include annotation_subscribe: subscribing is refused (RTAN4e).
        var refused = Assert.Throws<AblyException>(() => channel.Annotations.SubscribeAsync());
        Assert.Equal(93001, refused.Code);
        Assert.Throws<ArgumentException>(() => { _ = channel.Annotations.PublishAsync(Messages.Create("m", "no serial"), Messages.CreateAnnotation("r:total.v1")); });
    }

    private static void AssertFinal(AnnotationSummary? summary)
    {
        Assert.NotNull(summary);
        Assert.Equal(["reaction:distinct.v1", "views:total.v1", "vote:unique.v1", "spam:flag.v1", "likes:multiple.v1"], summary.Types);
        var distinct = summary.GetDistinct("reaction:distinct.v1")!;
        Assert.Equal(["👍"], distinct.Keys);
        Assert.Equal((2, false), (distinct["👍"].Total, distinct["👍"].Clipped));
        Assert.Equal(["bob", "alice"], distinct["👍"].ClientIds);
        Assert.Equal(new SummaryTotal(1), summary.GetTotal("views:total.v1"));
        var unique = summary.GetUnique("vote:unique.v1")!;
        Assert.Equal(["no"], unique.Keys);
        Assert.Equal(["alice"], unique["no"].ClientIds);
        var flag = summary.GetFlag("spam:flag.v1")!;
        Assert.Equal((1, false), (flag.Total, flag.Clipped));
        Assert.Equal(["bob"], flag.ClientIds);
        var multiple = summary.GetMultiple("likes:multiple.v1")!["x"];
        Assert.Equal((5, 0, 2, false), (multiple.Total, multiple.TotalUnidentified, multiple.TotalClientIds, multiple.Clipped));
        Assert.Equal(new Dictionary<string, long> { ["alice"] = 3, ["bob"] = 2 }, multiple.ClientIds);
        Assert.Null(summary.GetTotal("other:total.v1"));
        Assert.Throws<ArgumentException>(() => summary.GetFlag("views:total.v1"));
    }

    private static async Task<List<Annotation>> ReadAsync(AnnotationSubscription subscription, int count)
    {
        using var cancel = new CancellationTokenSource(Wait.Timeout);
        var items = new List<Annotation>(count);
        while (items.Count < count)
        {
            items.Add(await subscription.Reader.ReadAsync(cancel.Token));
        }

        return items;
    }
}
