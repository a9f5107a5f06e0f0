using TokenWire.Protocol;
using TokenWire.Server.Engine;
using TokenWire.Server.Presence;

namespace TokenWire.Conformance;

/// <summary>
/// The <see cref="IPresenceStore"/> contract (the rules of <see cref="PresenceSet"/> plus delivery), run against every
/// engine: each engine's test class inherits this and supplies the store.
/// </summary>
public abstract class PresenceStoreConformance : IAsyncLifetime
{
    private static int _channels;
    private IPresenceStore? _store;

    /// <summary>A channel of its own per test, so engines that share state across tests (Redis) stay independent.</summary>
    protected ChannelKey Channel { get; } = new("app", $"presence-{Environment.ProcessId}-{Interlocked.Increment(ref _channels)}-{Guid.NewGuid():N}");

    protected IPresenceStore Store => _store ??= CreateStore();

    protected abstract IPresenceStore CreateStore();

    public virtual Task InitializeAsync() => Task.CompletedTask;

    public virtual async Task DisposeAsync()
    {
        switch (_store)
        {
            case IAsyncDisposable asyncDisposable:
                await asyncDisposable.DisposeAsync();
                break;
            case IDisposable disposable:
                disposable.Dispose();
                break;
        }
    }

    protected static PresenceChange Change(PresenceAction action, string clientId, string connectionId, string? data = null, string? id = null, string owner = "node-a", bool onlyIfOwner = false) =>
        new(
            new PresenceMessage
            {
                Id = id ?? $"{connectionId}:{Guid.NewGuid():N}:0",
                Action = action,
                ClientId = clientId,
                ConnectionId = connectionId,
                Data = data is null ? MessageData.None : MessageData.FromText(data),
                Timestamp = 1_795_000_000_000,
            },
            owner,
            onlyIfOwner);

    private static string Describe(IEnumerable<PresenceMessage> messages) =>
        string.Join(",", messages.Select(m => $"{m.Action}:{m.ClientId}@{m.ConnectionId}={m.Data}"));

    [Fact]
    public async Task Enter_of_an_absent_member_is_an_enter_and_of_a_present_one_an_update()
    {
        var first = await Store.ApplyAsync(Channel, [Change(PresenceAction.Enter, "alice", "c1", "one")], 0);
        var second = await Store.ApplyAsync(Channel, [Change(PresenceAction.Enter, "alice", "c1", "two")], 0);
        var third = await Store.ApplyAsync(Channel, [Change(PresenceAction.Update, "bob", "c1", "b")], 0);

        Assert.Equal("Enter:alice@c1=one", Describe(first));
        Assert.Equal("Update:alice@c1=two", Describe(second));
        Assert.Equal("Enter:bob@c1=b", Describe(third));
        Assert.Equal("Present:alice@c1=two,Present:bob@c1=b", Describe(await Store.GetMembersAsync(Channel)));
    }

    [Fact]
    public async Task Members_are_per_client_and_connection()
    {
        await Store.ApplyAsync(Channel, [Change(PresenceAction.Enter, "alice", "c1", "x"), Change(PresenceAction.Enter, "alice", "c2", "y")], 0);

        Assert.Equal("Present:alice@c1=x,Present:alice@c2=y", Describe(await Store.GetMembersAsync(Channel)));
    }

    [Fact]
    public async Task A_repeated_enter_with_the_same_id_and_data_changes_nothing_visible()
    {
        await Store.ApplyAsync(Channel, [Change(PresenceAction.Enter, "alice", "c1", "x", id: "c1:0:0")], 0);

        var again = await Store.ApplyAsync(Channel, [Change(PresenceAction.Enter, "alice", "c1", "x", id: "c1:0:0", owner: "node-b")], 0);

        Assert.Empty(again);
        Assert.Equal("Present:alice@c1=x", Describe(await Store.GetMembersAsync(Channel)));
    }

    [Fact]
    public async Task Leave_without_data_carries_the_members_data_and_a_leave_of_an_absent_member_is_dropped()
    {
        await Store.ApplyAsync(Channel, [Change(PresenceAction.Enter, "alice", "c1", "last words")], 0);

        var leave = await Store.ApplyAsync(Channel, [Change(PresenceAction.Leave, "alice", "c1")], 0);
        var again = await Store.ApplyAsync(Channel, [Change(PresenceAction.Leave, "alice", "c1")], 0);

        Assert.Equal("Leave:alice@c1=last words", Describe(leave));
        Assert.Empty(again);
        Assert.Empty(await Store.GetMembersAsync(Channel));
    }

    [Fact]
    public async Task A_leave_conditioned_on_its_owner_spares_a_member_re_entered_by_another_owner()
    {
        await Store.ApplyAsync(Channel, [Change(PresenceAction.Enter, "alice", "c1", "x", id: "c1:0:0", owner: "node-a")], 0);
        await Store.ApplyAsync(Channel, [Change(PresenceAction.Enter, "alice", "c1", "x", id: "c1:0:0", owner: "node-b")], 0);

        var stale = await Store.ApplyAsync(Channel, [Change(PresenceAction.Leave, "alice", "c1", owner: "node-a", onlyIfOwner: true)], 0);
        var current = await Store.ApplyAsync(Channel, [Change(PresenceAction.Leave, "alice", "c1", owner: "node-b", onlyIfOwner: true)], 0);

        Assert.Empty(stale);
        Assert.Equal("Leave:alice@c1=x", Describe(current));
    }

    [Fact]
    public async Task An_enter_past_the_member_limit_is_refused_with_91003_and_nothing_is_applied()
    {
        await Store.ApplyAsync(Channel, [Change(PresenceAction.Enter, "a", "c1"), Change(PresenceAction.Enter, "b", "c1")], 3);

        var error = await Assert.ThrowsAsync<ProtocolException>(async () =>
            await Store.ApplyAsync(Channel, [Change(PresenceAction.Update, "a", "c1", "still fine"), Change(PresenceAction.Enter, "c", "c1"), Change(PresenceAction.Enter, "d", "c1")], 3));
        var update = await Store.ApplyAsync(Channel, [Change(PresenceAction.Update, "a", "c1", "fine")], 3);

        Assert.Equal(ErrorCodes.TooManyPresenceMembers, error.Error.Code);
        Assert.Equal("Update:a@c1=fine", Describe(update));
        Assert.Equal("Present:a@c1=fine,Present:b@c1=<none>", Describe(await Store.GetMembersAsync(Channel)));
    }

    [Fact]
    public async Task Subscribers_receive_every_event_in_the_order_applied_until_they_unsubscribe()
    {
        var received = new List<string>();
        var subscription = await Store.SubscribeAsync(Channel, e =>
        {
            lock (received)
            {
                received.Add(Describe(e.Messages));
            }
        });

        for (var i = 0; i < 20; i++)
        {
            await Store.ApplyAsync(Channel, [Change(PresenceAction.Update, "alice", "c1", i.ToString(System.Globalization.CultureInfo.InvariantCulture))], 0);
        }

        await Wait.Eventually("20 presence events", () =>
        {
            lock (received)
            {
                return received.Count == 20;
            }
        });
        await subscription.DisposeAsync();

        // A witness subscribed after the unsubscribe hears the leave: by then the first would have, had it still listened.
        var witnessed = 0;
        await using var witness = await Store.SubscribeAsync(Channel, e => Interlocked.Add(ref witnessed, e.Messages.Count));
        await Store.ApplyAsync(Channel, [Change(PresenceAction.Leave, "alice", "c1")], 0);
        await Wait.Eventually("the witness hears the leave", () => Volatile.Read(ref witnessed) == 1);

        lock (received)
        {
            Assert.Equal(Enumerable.Range(0, 20).Select(i => $"{(i == 0 ? "Enter" : "Update")}:alice@c1={i}"), received);
        }
    }

    [Fact]
    public async Task Payloads_round_trip_exactly()
    {
        var change = Change(PresenceAction.Enter, "alice", "c1");
        change.Message.Data = MessageData.FromBytes([0, 1, 2, 255]);
        change.Message.Encoding = "utf-8/cipher+aes-128-cbc";
        change.Message.Extras = new JsonPayload("""{"headers":{"k":"v"}}"""u8.ToArray());

        await Store.ApplyAsync(Channel, [change], 0);
        var member = Assert.Single(await Store.GetMembersAsync(Channel));

        Assert.Equal(PresenceAction.Present, member.Action);
        Assert.Equal(change.Message.Id, member.Id);
        Assert.Equal(new byte[] { 0, 1, 2, 255 }, member.Data.Bytes);
        Assert.Equal("utf-8/cipher+aes-128-cbc", member.Encoding);
        Assert.Equal("""{"headers":{"k":"v"}}""", member.Extras?.ToString());
        Assert.Equal(1_795_000_000_000, member.Timestamp);
    }
}
