using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using TokenWire.Client.Tests.Support;
using TokenWire.Protocol;

namespace TokenWire.Client.Tests;

/// <summary>
/// vcdiff deltas (channel param <c>delta=vcdiff</c>, spec RTL18-RTL20): the server sends each message as a delta
/// against the one before it and the client decodes it against the payload it delivered last, so subscribers see
/// exactly what was published; a delta the client cannot apply re-attaches from the last message decoded (40018)
/// and nothing is lost, doubled or delivered wrong; a resumed connection starts whole and decodes on.
/// </summary>
[Collection(ServerCollection.Name)]
public sealed class DeltasTests(ServerFixture server)
{
    private static readonly ChannelOptions WithDeltas = new() { Delta = ChannelOptions.VcdiffDelta };

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Text_binary_and_json_messages_arrive_exactly_as_published_most_of_them_as_deltas(bool binary)
    {
        var name = Wait.UniqueChannel("deltas");
        await using var subscriber = new RealtimeClient(server.Options(binary));
        var channel = subscriber.Channels.Get(name, WithDeltas);
        var decodeFailures = WatchDecodeFailures(channel);
        var live = channel.SubscribeAsync();
        await channel.AttachAsync().Within();
        Assert.Equal("vcdiff", channel.Params.GetValueOrDefault("delta"));

        await using var publisher = new RealtimeClient(server.Options(!binary));
        var sent = Payloads();
        for (var i = 0; i < sent.Count; i++)
        {
            await publisher.Channels.Get(name).PublishAsync(i.ToString(CultureInfo.InvariantCulture), sent[i]).Within();
        }

        var received = await live.ReadAsync(sent.Count);
        Assert.Equal(Enumerable.Range(0, sent.Count).Select(i => i.ToString(CultureInfo.InvariantCulture)), received.Select(m => m.Name));
        for (var i = 0; i < sent.Count; i++)
        {
            AssertPayload(sent[i], received[i], i);
        }

        // The server sent most as deltas (the first after attach and a payload too small to gain are whole).
        Assert.False(IsDelta(received[0]));
        Assert.False(IsDelta(received[^2]));
        Assert.True(received.Count(IsDelta) >= sent.Count - 6, $"{received.Count(IsDelta)} of {sent.Count} were deltas");
        Assert.Empty(decodeFailures);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task An_append_mode_full_stream_arrives_as_whole_snapshots_decoded_from_deltas(bool binary)
    {
        var name = Wait.UniqueChannel("mutable:deltas-stream");
        await using var subscriber = new RealtimeClient(server.Options(binary));
        var channel = subscriber.Channels.Get(name, WithDeltas with { Params = new Dictionary<string, string> { ["appendMode"] = "full" } });
        var decodeFailures = WatchDecodeFailures(channel);
        var live = channel.SubscribeAsync();
        await channel.AttachAsync().Within();

        await using var agent = new RealtimeClient(server.Options(!binary) with
        {
            ClientId = "ai-agent",
            TransportParams = new Dictionary<string, string> { ["appendRollupWindow"] = "0" },
        });
        var agentChannel = agent.Channels.Get(name);
        var serial = (await agentChannel.PublishAsync("response", "").Within()).Serials[0]!;
        var tokens = Enumerable.Range(0, 300).Select(i => (i % 10 == 9 ? "token.\n" : "token ") + i.ToString(CultureInfo.InvariantCulture)).ToList();
        var whole = string.Concat(tokens);
        await Task.WhenAll(tokens.Select(t => agentChannel.AppendMessageAsync(serial, t))).Within();

        // Every delivery is the whole text so far (snapshots may be folded together, never torn or reordered).
        var seen = new List<Message>();
        using (var cancel = new CancellationTokenSource(Wait.Timeout))
        {
            while (seen.Count == 0 || seen[^1].GetText() != whole)
            {
                seen.Add(await live.Reader.ReadAsync(cancel.Token));
            }
        }

        var texts = seen.Select(m => m.GetText()!).ToList();
        for (var i = 1; i < texts.Count; i++)
        {
            Assert.True(texts[i].Length > texts[i - 1].Length && texts[i].StartsWith(texts[i - 1], StringComparison.Ordinal), $"snapshot {i} extends snapshot {i - 1}");
            Assert.StartsWith(texts[i], whole, StringComparison.Ordinal);
        }

        Assert.All(seen, m => Assert.Equal(serial, m.Serial));
        Assert.True(seen.Count(IsDelta) >= seen.Count / 2, $"{seen.Count(IsDelta)} of {seen.Count} snapshots were deltas");
        Assert.Empty(decodeFailures);
    }

    [Theory]
    [InlineData(true, false)]
    [InlineData(false, true)]
    public async Task A_base_that_does_not_match_recovers_by_reattaching_from_the_last_message_decoded(bool binary, bool corruptPayload)
    {
        var name = Wait.UniqueChannel("deltas-recovery");
        await using var subscriber = new RealtimeClient(server.Options(binary));
        var channel = subscriber.Channels.Get(name, WithDeltas);
        var changes = new List<ChannelStateChange>();
        channel.StateChanged += (_, change) =>
        {
            lock (changes)
            {
                changes.Add(change);
            }
        };
        var live = channel.SubscribeAsync();
        await channel.AttachAsync().Within();

        await using var publisher = new RealtimeClient(server.Options(binary));
        var publishChannel = publisher.Channels.Get(name);
        var texts = Enumerable.Range(0, 20).Select(Snapshot).ToList();
        for (var i = 0; i < 10; i++)
        {
            await publishChannel.PublishAsync("snapshot", texts[i]).Within();
        }

        var before = await live.ReadAsync(10);
        Assert.True(IsDelta(before[^1]));

        // Lose the base, as a client would that missed a message: another message's id, or the right id with a
        // payload the next delta cannot apply to (its source segment lies outside it).
        channel.DeltaBase.Remember(corruptPayload ? before[^1].Id : "some-other-message", MessageData.FromBytes(corruptPayload ? [] : "Snapshot"u8.ToArray()));
        for (var i = 10; i < 20; i++)
        {
            await publishChannel.PublishAsync("snapshot", texts[i]).Within();
        }

        var after = await live.ReadAsync(10);
        Assert.Equal(texts, before.Concat(after).Select(m => m.GetText()));
        Assert.Equal(20, before.Concat(after).Select(m => m.Id).Distinct().Count());
        Assert.False(IsDelta(after[0]), "the re-attach starts whole");
        Assert.True(IsDelta(after[^1]), "and goes on with deltas");
        Assert.False(live.Reader.TryRead(out var extra), $"unexpected extra message {extra?.GetText()}");
        lock (changes)
        {
            var recovery = Assert.Single(changes, c => c.Previous == ChannelState.Attached);
            Assert.Equal((ChannelState.Attaching, 40018), (recovery.Current, recovery.Reason?.Code));
            Assert.Equal(ChannelState.Attached, changes[^1].Current);
        }
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_resumed_connection_starts_whole_and_decodes_every_delta_after_it(bool binary)
    {
        await using var proxy = new TcpProxy(server.Port);
        var name = Wait.UniqueChannel("deltas-resume");
        await using var subscriber = new RealtimeClient(server.Options(binary) with { Port = proxy.Port });
        var channel = subscriber.Channels.Get(name, WithDeltas);
        var decodeFailures = WatchDecodeFailures(channel);
        var live = channel.SubscribeAsync();
        await channel.AttachAsync().Within();
        var connectionId = subscriber.Connection.Id;

        await using var publisher = new RealtimeClient(server.Options(binary));
        var publishChannel = publisher.Channels.Get(name);
        var texts = Enumerable.Range(0, 60).Select(Snapshot).ToList();
        for (var i = 0; i < 20; i++)
        {
            await publishChannel.PublishAsync("snapshot", texts[i]).Within();
        }

        var received = await live.ReadAsync(20);

        // Deliveries in transit at the cut are lost; the resumed attachment replays them, the first one whole.
        proxy.PauseDownstream();
        for (var i = 20; i < 40; i++)
        {
            await publishChannel.PublishAsync("snapshot", texts[i]).Within();
        }

        Assert.Equal(1, proxy.KillConnections());
        for (var i = 40; i < 60; i++)
        {
            await publishChannel.PublishAsync("snapshot", texts[i]).Within();
        }

        received.AddRange(await live.ReadAsync(40));
        Assert.Equal(connectionId, subscriber.Connection.Id);
        Assert.Equal(texts, received.Select(m => m.GetText()));
        Assert.False(IsDelta(received[20]), "the resumed attachment starts whole");
        Assert.True(received.Skip(21).All(IsDelta), "and decodes every delta after it");
        Assert.Empty(decodeFailures);
    }

    [Fact]
    public void A_delta_needs_the_base_it_names()
    {
        var deltas = new Internal.DeltaBase();
        deltas.Remember("m1", MessageData.FromText("Hello world"));
        var delta = Protocol.Deltas.VcdiffEncoder.Encode("Hello world"u8, "Hello world, again"u8);
        var message = new Message { Id = "m2", Extras = JsonPayload.Parse("""{"delta":{"from":"m1","format":"vcdiff"}}"""), Data = MessageData.FromBytes(delta), Encoding = "utf-8/vcdiff" };
        Internal.PayloadCodec.Decode(message, deltas);
        Assert.Equal(("Hello world, again", null), (message.Data.Text, message.Encoding));

        // m2 is now the base: a delta from m1 again is refused rather than applied to the wrong payload.
        var stale = new Message { Id = "m3", Extras = JsonPayload.Parse("""{"delta":{"from":"m1","format":"vcdiff"}}"""), Data = MessageData.FromBytes(delta), Encoding = "utf-8/vcdiff" };
        Assert.Equal(40018, Assert.Throws<AblyException>(() => Internal.PayloadCodec.Decode(stale, deltas)).Code);

        // REST never decodes deltas: the step stays.
        var rest = new Message { Data = MessageData.FromBytes(delta), Encoding = "utf-8/vcdiff" };
        Internal.PayloadCodec.Decode(rest);
        Assert.Equal("utf-8/vcdiff", rest.Encoding);
    }

    private static string Snapshot(int i) =>
        "The answer so far: " + string.Concat(Enumerable.Range(0, i + 1).Select(n => $"sentence {n} of the answer; "));

    /// <summary>Text, binary and JSON payloads that each change a little from the one before, and one too small to gain.</summary>
    internal static List<object> Payloads()
    {
        var list = new List<object>();
        var text = "The quick brown fox jumps over the lazy dog. ";
        for (var i = 0; i < 8; i++)
        {
            text += $"sentence {i} continues the text; ";
            list.Add(text);
        }

        var bytes = Enumerable.Range(0, 300).Select(i => (byte)(i * 7 % 251)).ToArray();
        for (var i = 0; i < 6; i++)
        {
            bytes[i * 13] = (byte)(255 - i);
            list.Add(bytes.ToArray());
        }

        for (var i = 0; i < 6; i++)
        {
            list.Add(new JsonObject
            {
                ["foo"] = "bar",
                ["count"] = i,
                ["status"] = i % 2 == 1 ? "active" : "inactive",
                ["items"] = new JsonArray("alpha", "beta", "gamma", "delta", i),
            });
        }

        list.Add("x");
        list.Add(text);
        return list;
    }

    internal static void AssertPayload(object sent, Message received, int index)
    {
        switch (sent)
        {
            case string text:
                Assert.Equal(text, received.GetText());
                break;
            case byte[] bytes:
                Assert.Equal(bytes, received.GetBytes());
                break;
            case JsonObject json:
                Assert.True(JsonNode.DeepEquals(json, JsonNode.Parse(received.GetJson()!.Value.GetRawText())), $"message {index}: {received.GetJson()}");
                break;
        }
    }

    /// <summary>A delivery that came as a delta keeps <c>extras.delta</c> (as ably-js leaves it).</summary>
    internal static bool IsDelta(Message message) =>
        message.GetExtras() is { ValueKind: JsonValueKind.Object } extras
        && extras.TryGetProperty("delta", out var delta)
        && delta.TryGetProperty("format", out var format) && format.GetString() == "vcdiff";

    /// <summary>Every re-attach for a delta the client could not apply (40018).</summary>
    private static List<ErrorInfo?> WatchDecodeFailures(RealtimeChannel channel)
    {
        var reasons = new List<ErrorInfo?>();
        channel.StateChanged += (_, change) =>
        {
            if (change.Current == ChannelState.Attaching && change.Reason?.Code == 40018)
            {
                lock (reasons)
                {
                    reasons.Add(change.Reason);
                }
            }
        };
        return reasons;
    }
}
