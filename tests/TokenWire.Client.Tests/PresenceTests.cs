using System.Globalization;
using TokenWire.Client.Tests.Support;
using TokenWire.Protocol;

namespace TokenWire.Client.Tests;

/// <summary>Presence against a real server (reference §4.11, §5.6): events, the SYNC'd member set, re-entry, REST.</summary>
[Collection(ServerCollection.Name)]
public sealed class PresenceTests(ServerFixture server)
{
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Enter_update_and_leave_are_seen_by_another_client(bool binary)
    {
        var name = Wait.UniqueChannel("presence");
        await using var observer = new RealtimeClient(server.Options(binary));
        var observed = observer.Channels.Get(name);
        var events = observed.Presence.SubscribeAsync();
        await observed.AttachAsync().Within();

        await using var client = new RealtimeClient(server.Options(!binary) with { ClientId = "alice" });
        var channel = client.Channels.Get(name);
        await channel.Presence.EnterAsync(new { status = "here" }).Within();

        // alice's ACK can reach her before her ENTER reaches the observer (two sockets): wait for the event first.
        var seen = await ReadAsync(events, 1);
        var members = await observed.Presence.GetAsync().Within();
        await channel.Presence.UpdateAsync("busy").Within();
        await channel.Presence.LeaveAsync().Within();

        seen.AddRange(await ReadAsync(events, 2));
        Assert.Equal([PresenceAction.Enter, PresenceAction.Update, PresenceAction.Leave], seen.Select(m => m.Action));
        Assert.All(seen, m => Assert.Equal("alice", m.ClientId));
        Assert.All(seen, m => Assert.Equal(client.Connection.Id, m.ConnectionId));
        Assert.Equal("here", seen[0].GetJson()!.Value.GetProperty("status").GetString());
        Assert.Equal("busy", seen[1].GetText());
        Assert.Equal($"{client.Connection.Id}:0:0", seen[0].Id);

        // The observer's member set followed the events: alice while present, nobody after the leave.
        Assert.Contains(members, m => m.ClientId == "alice" && m.Action == PresenceAction.Present);
        Assert.Empty(await observed.Presence.GetAsync().Within());
        Assert.Empty(await channel.Presence.GetAsync(clientId: "alice").Within());
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_late_attach_gets_every_member_from_a_multi_page_sync(bool binary)
    {
        const int count = 250;
        var name = Wait.UniqueChannel("presence-sync");
        await using var host = new RealtimeClient(server.Options(binary));
        var channel = host.Channels.Get(name);
        await Task.WhenAll(Enumerable.Range(0, count).Select(i => channel.Presence.EnterClientAsync(Member(i), i))).Within();

        // The server sends 100 members per SYNC page: three pages for the late attach.
        await using var late = new RealtimeClient(server.Options(binary));
        var lateChannel = late.Channels.Get(name);
        var events = lateChannel.Presence.SubscribeAsync(PresenceAction.Present);
        var members = await lateChannel.Presence.GetAsync().Within();

        Assert.True(lateChannel.Presence.SyncComplete);
        Assert.Equal(Enumerable.Range(0, count).Select(Member), members.Select(m => m.ClientId).Order(StringComparer.Ordinal));
        Assert.All(members, m => Assert.Equal(host.Connection.Id, m.ConnectionId));
        Assert.All(members, m => Assert.Equal(int.Parse(m.ClientId![1..], CultureInfo.InvariantCulture), m.GetJson()!.Value.GetInt32()));
        Assert.Equal(count, (await ReadAsync(events, count)).Count);

        var one = await lateChannel.Presence.GetAsync(clientId: Member(7)).Within();
        Assert.Equal(Member(7), Assert.Single(one).ClientId);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Members_are_re_entered_after_the_transport_drops_and_the_resume_fails(bool binary)
    {
        await using var proxy = new TcpProxy(server.Port);
        var name = Wait.UniqueChannel("presence-reenter");
        await using var observer = new RealtimeClient(server.Options(binary));
        var observed = observer.Channels.Get(name);
        var events = observed.Presence.SubscribeAsync();
        await observed.AttachAsync().Within();

        await using var client = new RealtimeClient(server.Options(binary) with { Port = proxy.Port, ClientId = "bob" });
        var channel = client.Channels.Get(name);
        await channel.Presence.EnterAsync("original").Within();
        var firstId = client.Connection.Id;
        var entered = await ReadAsync(events, 1);
        Assert.Equal(firstId, entered[0].ConnectionId);

        // A failed resume: a new connection, whose members the SDK enters again with the data they had.
        proxy.BreakResumeKeys = true;
        proxy.KillConnections();
        await Wait.Eventually("the client reconnects with a new connection", () => client.Connection.Id is { } id && id != firstId && channel.State == ChannelState.Attached);
        var newId = client.Connection.Id;

        var reentered = await ReadUntilAsync(events, m => m.Action == PresenceAction.Enter && m.ConnectionId == newId);
        Assert.Equal("bob", reentered.ClientId);
        Assert.Equal("original", reentered.GetText());
        var members = await observed.Presence.GetAsync().Within();
        Assert.Contains(members, m => m.ClientId == "bob" && m.ConnectionId == newId);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Members_stay_through_a_resumed_connection(bool binary)
    {
        await using var proxy = new TcpProxy(server.Port);
        var name = Wait.UniqueChannel("presence-resume");
        await using var client = new RealtimeClient(server.Options(binary) with { Port = proxy.Port, ClientId = "carol" });
        var channel = client.Channels.Get(name);
        await channel.Presence.EnterAsync("kept").Within();
        var connectionId = client.Connection.Id;

        proxy.KillConnections();
        await Wait.Eventually("the client resumes", () => proxy.Accepted >= 2 && client.Connection.State == ConnectionState.Connected && channel.State == ChannelState.Attached);
        Assert.Equal(connectionId, client.Connection.Id);

        // The re-entry carried the original id, so the server kept one member, unchanged.
        using var rest = new RestClient(server.Options(binary));
        var members = (await rest.PresenceAsync(name).Within()).Items;
        var member = Assert.Single(members);
        Assert.Equal(("carol", connectionId, "kept"), (member.ClientId, member.ConnectionId, member.Data.Text));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Rest_presence_pages_members_and_history(bool binary)
    {
        var name = Wait.UniqueChannel("presence-rest");
        await using var client = new RealtimeClient(server.Options(binary));
        var channel = client.Channels.Get(name);
        await Task.WhenAll(Enumerable.Range(0, 5).Select(i => channel.Presence.EnterClientAsync(Member(i), new { i }))).Within();
        await channel.Presence.LeaveClientAsync(Member(4)).Within();

        using var rest = new RestClient(server.Options(binary));
        var page = await rest.PresenceAsync(name, new PresenceRequest { Limit = 3 }).Within();
        Assert.Equal(3, page.Items.Count);
        Assert.True(page.HasNext);
        var all = await page.ToAsyncEnumerable().ToListAsync();
        Assert.Equal(Enumerable.Range(0, 4).Select(Member), all.Select(m => m.ClientId).Order(StringComparer.Ordinal));
        Assert.All(all, m => Assert.Equal(PresenceAction.Present, m.Action));
        Assert.Equal(2, all.Single(m => m.ClientId == Member(2)).GetJson()!.Value.GetProperty("i").GetInt32());

        var filtered = await rest.PresenceAsync(name, new PresenceRequest { ClientId = Member(1) }).Within();
        Assert.Equal(Member(1), Assert.Single(filtered.Items).ClientId);

        var history = await rest.PresenceHistoryAsync(name, new HistoryRequest { Direction = HistoryDirection.Forwards }).Within();
        Assert.Equal(5, history.Items.Count(m => m.Action == PresenceAction.Enter));
        Assert.Equal(Member(4), history.Items.Last().ClientId);
        Assert.Equal(PresenceAction.Leave, history.Items.Last().Action);

        var realtimeHistory = await channel.Presence.HistoryAsync(new HistoryRequest { Limit = 2 }).Within();
        Assert.Equal((PresenceAction.Leave, Member(4)), (realtimeHistory.Items[0].Action, realtimeHistory.Items[0].ClientId));
    }

    private static string Member(int i) => "m" + i.ToString("D3", CultureInfo.InvariantCulture);

    private static async Task<List<PresenceMessage>> ReadAsync(PresenceSubscription subscription, int count)
    {
        using var cancel = new CancellationTokenSource(Wait.Timeout);
        var items = new List<PresenceMessage>(count);
        while (items.Count < count)
        {
            items.Add(await subscription.Reader.ReadAsync(cancel.Token));
        }

        return items;
    }

    private static async Task<PresenceMessage> ReadUntilAsync(PresenceSubscription subscription, Func<PresenceMessage, bool> match)
    {
        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (true)
        {
            var message = await subscription.Reader.ReadAsync(cancel.Token);
            if (match(message))
            {
                return message;
            }
        }
    }
}
