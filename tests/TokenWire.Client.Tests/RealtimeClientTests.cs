using System.Text.Json;
using System.Text.Json.Nodes;
using TokenWire.Client.Tests.Support;
using TokenWire.Protocol;

namespace TokenWire.Client.Tests;

[Collection(ServerCollection.Name)]
public sealed class RealtimeClientTests(ServerFixture server)
{
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Connects_attaches_publishes_and_receives_string_json_and_binary(bool binary)
    {
        await using var client = new RealtimeClient(server.Options(binary));
        await client.ConnectAsync().Within();
        Assert.Equal(ConnectionState.Connected, client.Connection.State);
        Assert.False(string.IsNullOrEmpty(client.Connection.Id));
        Assert.False(string.IsNullOrEmpty(client.Connection.Key));

        var channel = client.Channels.Get(Wait.UniqueChannel("basic"));
        await channel.AttachAsync().Within();
        Assert.Equal(ChannelState.Attached, channel.State);
        Assert.NotNull(channel.AttachSerial);
        Assert.True(channel.Modes.HasFlag(ChannelModes.Subscribe));

        var subscription = channel.SubscribeAsync();
        var handled = new List<Message>();
        using var handler = channel.Subscribe(m =>
        {
            lock (handled)
            {
                handled.Add(m);
            }
        });

        var json = new JsonObject { ["token"] = "Hello", ["n"] = 3, ["nested"] = new JsonArray(1, "two", null) };
        var extras = new { headers = new { responseId = "r-1", index = 0 } };
        var bytes = new byte[] { 0, 1, 2, 254, 255 };
        var results = await Task.WhenAll(
            channel.PublishAsync("text", "héllo wörld", extras),
            channel.PublishAsync("json", json),
            channel.PublishAsync("binary", bytes)).Within();

        var received = await subscription.ReadAsync(3);
        Assert.Equal(["text", "json", "binary"], received.Select(m => m.Name));

        Assert.Equal("héllo wörld", received[0].GetText());
        Assert.Equal("r-1", received[0].GetHeader("responseId"));
        Assert.Equal("0", received[0].GetHeader("index"));
        Assert.Equal(JsonValueKind.Object, received[0].GetExtras()!.Value.ValueKind);

        Assert.True(received[1].IsJson());
        Assert.Null(received[1].GetText());
        Assert.True(JsonNode.DeepEquals(json, JsonNode.Parse(received[1].GetJson()!.Value.GetRawText())));

        Assert.Equal(bytes, received[2].GetBytes());

        for (var i = 0; i < 3; i++)
        {
            var serial = Assert.Single(results[i].Serials);
            Assert.Equal(serial, received[i].Serial);
            Assert.Equal(client.Connection.Id, received[i].ConnectionId);
            Assert.NotNull(received[i].Id);
            Assert.NotNull(received[i].Timestamp);
        }

        await Wait.Eventually("the handler saw all three messages", () => { lock (handled) { return handled.Count == 3; } });
        Assert.True(await client.PingAsync().Within() > TimeSpan.Zero);
        Assert.Equal(received[2].Serial, channel.ChannelSerial);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Subscribing_by_name_delivers_only_that_name(bool binary)
    {
        await using var client = new RealtimeClient(server.Options(binary));
        var channel = client.Channels.Get(Wait.UniqueChannel("names"));
        var tokens = channel.SubscribeAsync("token");
        var all = channel.SubscribeAsync();
        await channel.AttachAsync().Within();

        await Task.WhenAll(
            channel.PublishAsync("start", "s"),
            channel.PublishAsync("token", "a"),
            channel.PublishAsync("token", "b"),
            channel.PublishAsync("stop", "e")).Within();

        Assert.Equal(["start", "token", "token", "stop"], (await all.ReadAsync(4)).Select(m => m.Name));
        Assert.Equal(["a", "b"], (await tokens.ReadAsync(2)).Select(m => m.GetText()));
        Assert.False(tokens.Reader.TryRead(out _));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Await_foreach_over_a_subscription_reads_messages_and_ends_when_disposed(bool binary)
    {
        await using var publisher = new RealtimeClient(server.Options(binary));
        await using var subscriber = new RealtimeClient(server.Options(binary));
        var name = Wait.UniqueChannel("foreach");
        var channel = subscriber.Channels.Get(name);
        await channel.AttachAsync().Within();
        var subscription = channel.SubscribeAsync();
        var reading = Task.Run(async () =>
        {
            var seen = new List<string?>();
            await foreach (var message in subscription)
            {
                seen.Add(message.GetText());
                if (seen.Count == 3)
                {
                    break;
                }
            }

            return seen;
        });

        var target = publisher.Channels.Get(name);
        foreach (var text in new[] { "one", "two", "three" })
        {
            _ = target.PublishAsync("m", text);
        }

        Assert.Equal(["one", "two", "three"], await reading.Within());

        // Breaking out of the loop unsubscribed: the buffer is complete.
        await subscription.Reader.Completion.Within();
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Publishes_made_before_connecting_are_queued_and_acknowledged(bool binary)
    {
        await using var client = new RealtimeClient(server.Options(binary));
        Assert.Equal(ConnectionState.Initialized, client.Connection.State);
        var channel = client.Channels.Get(Wait.UniqueChannel("queued"));

        // AutoConnect: the first publish starts connecting; both wait in the queue until CONNECTED.
        var first = channel.PublishAsync("a", "1");
        var second = channel.PublishAsync("b", "2");
        var results = await Task.WhenAll(first, second).Within();
        Assert.Equal(ConnectionState.Connected, client.Connection.State);
        Assert.True(string.CompareOrdinal(results[0].Serials[0], results[1].Serials[0]) < 0);

        var history = await channel.HistoryAsync(new HistoryRequest { Direction = HistoryDirection.Forwards }).Within();
        Assert.Equal(["1", "2"], history.Items.Select(m => m.GetText()));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Rewind_channel_param_is_sent_on_attach_and_replays_the_backlog(bool binary)
    {
        await using var publisher = new RealtimeClient(server.Options(binary));
        var name = Wait.UniqueChannel("rewind");
        var source = publisher.Channels.Get(name);
        await Task.WhenAll(Enumerable.Range(1, 5).Select(i => source.PublishAsync("m", $"m{i}"))).Within();

        await using var late = new RealtimeClient(server.Options(binary));
        var channel = late.Channels.Get(name, new ChannelOptions { Params = new Dictionary<string, string> { ["rewind"] = "2" } });
        var subscription = channel.SubscribeAsync();
        var changes = new List<ChannelStateChange>();
        channel.StateChanged += (_, change) =>
        {
            lock (changes)
            {
                changes.Add(change);
            }
        };
        await channel.AttachAsync().Within();

        Assert.Equal(["m4", "m5"], (await subscription.ReadAsync(2)).Select(m => m.GetText()));
        Assert.Equal("2", channel.Params["rewind"]);
        await Wait.Eventually("the ATTACHED state change is raised", () => { lock (changes) { return changes.Any(c => c.Current == ChannelState.Attached); } });
        lock (changes)
        {
            Assert.True(changes.Single(c => c.Current == ChannelState.Attached).HasBacklog);
        }
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Detach_moves_the_channel_to_detached_and_echo_can_be_turned_off(bool binary)
    {
        await using var client = new RealtimeClient(server.Options(binary) with { EchoMessages = false });
        await using var other = new RealtimeClient(server.Options(binary));
        var name = Wait.UniqueChannel("detach");
        var channel = client.Channels.Get(name);
        var subscription = channel.SubscribeAsync();
        await channel.AttachAsync().Within();

        // echo=false: our own publish is acknowledged but not delivered back; the other client's is.
        await channel.PublishAsync("own", "x").Within();
        await other.Channels.Get(name).PublishAsync("other", "y").Within();
        Assert.Equal("other", Assert.Single(await subscription.ReadAsync(1)).Name);

        await channel.DetachAsync().Within();
        Assert.Equal(ChannelState.Detached, channel.State);
        Assert.Null(channel.ChannelSerial);
        await Assert.ThrowsAsync<AblyException>(() => channel.HistoryAsync(new HistoryRequest { UntilAttach = true }));

        await channel.AttachAsync().Within();
        Assert.Equal(ChannelState.Attached, channel.State);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_wrong_key_fails_the_connection_with_40101(bool binary)
    {
        await using var client = new RealtimeClient(server.Options(binary, key: "dev.root:wrong-secret"));
        var states = new List<ConnectionState>();
        client.Connection.StateChanged += (_, change) =>
        {
            lock (states)
            {
                states.Add(change.Current);
            }
        };

        var error = await Assert.ThrowsAsync<AblyException>(() => client.ConnectAsync().Within());
        Assert.Equal(40101, error.Code);
        Assert.Equal(ConnectionState.Failed, client.Connection.State);
        Assert.Equal(40101, client.Connection.ErrorReason?.Code);
        await Wait.Eventually("FAILED is raised", () => { lock (states) { return states.Contains(ConnectionState.Failed); } });
        lock (states)
        {
            Assert.Equal([ConnectionState.Connecting, ConnectionState.Failed], states);
        }

        var publish = await Assert.ThrowsAsync<AblyException>(() => client.Channels.Get("x").PublishAsync("n", "d"));
        Assert.Equal(40101, publish.Code);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Close_goes_through_closing_to_closed_and_a_later_connect_opens_a_new_connection(bool binary)
    {
        await using var client = new RealtimeClient(server.Options(binary));
        var states = new List<ConnectionState>();
        client.Connection.StateChanged += (_, change) =>
        {
            lock (states)
            {
                states.Add(change.Current);
            }
        };
        await client.ConnectAsync().Within();
        var firstId = client.Connection.Id;
        var channel = client.Channels.Get(Wait.UniqueChannel("close"));
        await channel.AttachAsync().Within();

        await client.CloseAsync().Within();
        Assert.Equal(ConnectionState.Closed, client.Connection.State);
        Assert.Null(client.Connection.Id);
        Assert.Equal(ChannelState.Detached, channel.State);
        await Wait.Eventually("four state changes are raised", () => { lock (states) { return states.Count == 4; } });
        lock (states)
        {
            Assert.Equal([ConnectionState.Connecting, ConnectionState.Connected, ConnectionState.Closing, ConnectionState.Closed], states);
        }

        var closedPublish = await Assert.ThrowsAsync<AblyException>(() => channel.PublishAsync("n", "d"));
        Assert.Equal(ErrorCodes.ConnectionClosed, closedPublish.Code);

        await client.ConnectAsync().Within();
        Assert.NotEqual(firstId, client.Connection.Id);
    }
}
