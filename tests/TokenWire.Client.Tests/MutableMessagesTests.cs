using System.Globalization;
using TokenWire.Client.Tests.Support;
using TokenWire.Protocol;

namespace TokenWire.Client.Tests;

/// <summary>
/// Update, delete and append (reference §4.12, §5.2) on channels of the Development app's <c>mutable</c> namespace,
/// over realtime and REST, seen live by another client and read back aggregated.
/// </summary>
[Collection(ServerCollection.Name)]
public sealed class MutableMessagesTests(ServerFixture server)
{
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task An_append_stream_is_seen_live_and_read_back_whole(bool binary)
    {
        const int fragments = 200;
        var name = Wait.UniqueChannel("mutable:append");
        await using var observer = new RealtimeClient(server.Options(!binary));
        var observed = observer.Channels.Get(name);
        var live = observed.SubscribeAsync();
        await observed.AttachAsync().Within();

        await using var writer = new RealtimeClient(server.Options(binary) with { ClientId = "agent" });
        var channel = writer.Channels.Get(name);
        var created = await channel.PublishAsync("answer", "Hello").Within();
        var serial = created.Serials[0]!;

        // Pipelined: every append is in flight before the first ACK is awaited.
        var appends = Enumerable.Range(0, fragments).Select(i => channel.AppendMessageAsync(serial, Fragment(i))).ToList();
        var results = await Task.WhenAll(appends).Within();
        var versions = results.Select(r => r.VersionSerial!).ToList();
        Assert.All(versions, v => Assert.True(string.CompareOrdinal(v, serial) > 0, "version serials sort after the original"));
        Assert.Equal(versions.Order(StringComparer.Ordinal), versions);

        // Appends that queue up at the observer are folded by its egress (several tokens, the last one's version).
        var whole = "Hello" + string.Concat(Enumerable.Range(0, fragments).Select(Fragment));
        var seen = new List<Message>();
        using (var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(30)))
        {
            while (string.Concat(seen.Select(m => m.GetText())) != whole)
            {
                seen.Add(await live.Reader.ReadAsync(cancel.Token));
            }
        }

        Assert.Equal((MessageActions.Create, "Hello"), (seen[0].Action, seen[0].GetText()));
        Assert.All(seen.Skip(1), m => Assert.Equal((MessageActions.Append, serial, seen[0].Name, seen[0].Timestamp), (m.Action, m.Serial, m.Name, m.Timestamp)));
        var seenVersions = seen.Skip(1).Select(m => m.GetVersion()!.Serial!).ToList();
        Assert.All(seenVersions, v => Assert.Contains(v, versions));
        Assert.Equal(seenVersions.Order(StringComparer.Ordinal), seenVersions);
        Assert.Equal(versions[^1], seenVersions[^1]);
        Assert.All(seen.Skip(1), m => Assert.Equal("agent", m.GetVersion()?.ClientId));

        var latest = await observed.GetMessageAsync(serial).Within();
        Assert.Equal((MessageActions.Update, serial, whole), (latest.Action, latest.Serial, latest.GetText()));
        Assert.Equal(versions[^1], latest.GetVersion()?.Serial);

        var history = await observed.HistoryAsync().Within();
        var stored = Assert.Single(history.Items);
        Assert.Equal((serial, whole), (stored.Serial, stored.GetText()));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Updates_and_deletes_over_realtime_and_rest_carry_their_operation_and_are_versioned(bool binary)
    {
        var name = Wait.UniqueChannel("mutable:edit");
        await using var client = new RealtimeClient(server.Options(binary) with { ClientId = "editor" });
        var channel = client.Channels.Get(name);
        var live = channel.SubscribeAsync();
        await channel.AttachAsync().Within();
        var serial = (await channel.PublishAsync("note", new { text = "v1" }).Within()).Serials[0]!;

        var edit = Messages.Create(null, new { text = "v2" });
        edit.Serial = serial;
        var operation = new MessageOperation { Description = "typo", Metadata = new Dictionary<string, string> { ["reason"] = "spelling" } };
        var updated = await channel.UpdateMessageAsync(edit, operation).Within();

        using var rest = new RestClient(server.Options(binary) with { ClientId = "editor" });
        var restEdit = Messages.Create(null, "v3");
        restEdit.Serial = serial;
        var restUpdated = await rest.UpdateMessageAsync(name, restEdit).Within();
        var deleted = await rest.DeleteMessageAsync(name, serial, new MessageOperation { Description = "gone" }).Within();

        var seen = await live.ReadAsync(4);
        Assert.Equal([MessageActions.Create, MessageActions.Update, MessageActions.Update, MessageActions.Delete], seen.Select(m => m.Action));
        Assert.All(seen, m => Assert.Equal((serial, "note"), (m.Serial, m.Name)));
        Assert.Equal("v2", seen[1].GetJson()!.Value.GetProperty("text").GetString());
        var version = seen[1].GetVersion()!;
        Assert.Equal((updated.VersionSerial, "editor", "typo", "spelling"), (version.Serial, version.ClientId, version.Description, version.Metadata!["reason"]));
        Assert.Equal("v3", seen[2].GetText());
        Assert.Equal(restUpdated.VersionSerial, seen[2].GetVersion()?.Serial);
        Assert.Equal((deleted.VersionSerial, "gone"), (seen[3].GetVersion()?.Serial, seen[3].GetVersion()?.Description));

        var versions = await channel.GetMessageVersionsAsync(serial, new HistoryRequest { Direction = HistoryDirection.Forwards, Limit = 2 }).Within();
        var all = await versions.ToAsyncEnumerable().ToListAsync();
        Assert.Equal([MessageActions.Create, MessageActions.Update, MessageActions.Update, MessageActions.Delete], all.Select(m => m.Action));
        Assert.Equal(MessageActions.Delete, (await rest.GetMessageAsync(name, serial).Within()).Action);
    }

    [Fact]
    public async Task Mutations_outside_a_mutable_namespace_are_refused()
    {
        var name = Wait.UniqueChannel("plain");
        await using var client = new RealtimeClient(server.Options(binary: true));
        var channel = client.Channels.Get(name);
        var serial = (await channel.PublishAsync("m", "x").Within()).Serials[0]!;

        var realtime = await Assert.ThrowsAsync<AblyException>(() => channel.AppendMessageAsync(serial, "y").Within());
        Assert.Equal(ErrorCodes.MutableMessagesNotEnabled, realtime.ErrorInfo.Code);
        var rest = await Assert.ThrowsAsync<AblyException>(() => client.Rest.DeleteMessageAsync(name, serial).Within());
        Assert.Equal(ErrorCodes.MutableMessagesNotEnabled, rest.ErrorInfo.Code);

        // A message without the serial to change is refused at the call, before anything is sent.
        Assert.Throws<ArgumentException>(() => { _ = channel.UpdateMessageAsync(Messages.Create("m", "z")); });
    }

    private static string Fragment(int i) => " t" + i.ToString("D3", CultureInfo.InvariantCulture);
}
