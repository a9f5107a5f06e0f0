using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using TokenWire.Client.Tests.Support;
using TokenWire.Protocol;

namespace TokenWire.Client.Tests;

/// <summary>
/// The .NET client and the real ably JS SDK (tests/interop/tools/cross-sdk-peer.mjs, run with node) exchange the
/// same messages in both directions and both formats: name, string / JSON object / binary data, and extras; both
/// decode the same vcdiff delta stream to the same payloads, and see each other's annotations and their summary.
/// </summary>
[Collection(ServerCollection.Name)]
public sealed class CrossSdkTests(ServerFixture server)
{
    private static readonly string PeerScript = Path.Combine(RepoRoot(), "tests", "interop", "tools", "cross-sdk-peer.mjs");

    [Theory]
    [InlineData(true, "msgpack")]
    [InlineData(true, "json")]
    [InlineData(false, "msgpack")]
    [InlineData(false, "json")]
    public async Task Messages_published_from_dotnet_arrive_identically_in_ably_js(bool binary, string jsFormat)
    {
        var channelName = Wait.UniqueChannel("cross-to-js");
        using var peer = StartPeer("receive", channelName, "3", jsFormat);
        Assert.Equal("READY", await ReadLineAsync(peer));

        await using var client = new RealtimeClient(server.Options(binary) with { ClientId = "dotnet-peer" });
        var channel = client.Channels.Get(channelName);
        var json = new JsonObject { ["token"] = "Hel", ["n"] = 3, ["nested"] = new JsonArray(1, "two", null) };
        await Task.WhenAll(
            channel.PublishAsync("text", "héllo from .net ✓", Extras(0)),
            channel.PublishAsync("json", json, Extras(1)),
            channel.PublishAsync("binary", new byte[] { 0, 1, 2, 254, 255 }, Extras(2))).Within();

        var received = new List<JsonElement>();
        for (var i = 0; i < 3; i++)
        {
            received.Add(JsonDocument.Parse(await ReadLineAsync(peer)).RootElement);
        }

        Assert.Equal(["text", "json", "binary"], received.Select(m => m.GetProperty("name").GetString()));
        Assert.Equal("héllo from .net ✓", received[0].GetProperty("data").GetString());
        Assert.True(JsonNode.DeepEquals(json, JsonNode.Parse(received[1].GetProperty("data").GetRawText())));
        Assert.Equal(Convert.ToBase64String([0, 1, 2, 254, 255]), received[2].GetProperty("data").GetProperty("$binary").GetString());
        for (var i = 0; i < 3; i++)
        {
            Assert.True(JsonNode.DeepEquals(JsonNode.Parse(JsonSerializer.Serialize(Extras(i))), JsonNode.Parse(received[i].GetProperty("extras").GetRawText())));
            Assert.Equal("dotnet-peer", received[i].GetProperty("clientId").GetString());
        }
    }

    [Theory]
    [InlineData(true, "msgpack")]
    [InlineData(true, "json")]
    [InlineData(false, "msgpack")]
    [InlineData(false, "json")]
    public async Task Messages_published_from_ably_js_arrive_identically_in_dotnet(bool binary, string jsFormat)
    {
        var channelName = Wait.UniqueChannel("cross-from-js");
        await using var client = new RealtimeClient(server.Options(binary));
        var channel = client.Channels.Get(channelName);
        var subscription = channel.SubscribeAsync();
        await channel.AttachAsync().Within();

        using var peer = StartPeer("publish", channelName, jsFormat);
        var received = await subscription.ReadAsync(3);
        await peer.WaitForExitAsync().Within();
        Assert.Equal(0, peer.ExitCode);

        Assert.Equal(["text", "json", "binary"], received.Select(m => m.Name));
        Assert.Equal("héllo from js ✓", received[0].GetText());
        Assert.True(JsonNode.DeepEquals(
            new JsonObject { ["token"] = "Hel", ["n"] = 3, ["nested"] = new JsonArray(1, "two", null) },
            JsonNode.Parse(received[1].GetJson()!.Value.GetRawText())));
        Assert.Equal(new byte[] { 0, 1, 2, 254, 255 }, received[2].GetBytes());
        for (var i = 0; i < 3; i++)
        {
            Assert.Equal("js-1", received[i].GetHeader("responseId"));
            Assert.Equal(i.ToString(System.Globalization.CultureInfo.InvariantCulture), received[i].GetHeader("index"));
            Assert.Equal("js-peer", received[i].ClientId);
        }
    }

    [Theory]
    [InlineData(true, "msgpack")]
    [InlineData(false, "json")]
    public async Task A_dotnet_presence_member_is_seen_by_ably_js(bool binary, string jsFormat)
    {
        var channelName = Wait.UniqueChannel("cross-presence");
        using var peer = StartPeer("presence", channelName, "dotnet-member", jsFormat);
        Assert.Equal("READY", await ReadLineAsync(peer));

        await using var client = new RealtimeClient(server.Options(binary) with { ClientId = "dotnet-member" });
        var channel = client.Channels.Get(channelName);
        await channel.Presence.EnterAsync(new JsonObject { ["status"] = "online" }).Within();

        var entered = JsonDocument.Parse(await ReadLineAsync(peer)).RootElement;
        Assert.Equal("enter", entered.GetProperty("action").GetString());
        Assert.Equal(client.Connection.Id, entered.GetProperty("connectionId").GetString());
        Assert.Equal("online", entered.GetProperty("data").GetProperty("status").GetString());
        var member = Assert.Single(JsonDocument.Parse(await ReadLineAsync(peer)).RootElement.EnumerateArray());
        Assert.Equal("dotnet-member", member.GetProperty("clientId").GetString());
        Assert.Equal("online", member.GetProperty("data").GetProperty("status").GetString());
        await peer.WaitForExitAsync().Within();
        Assert.Equal(0, peer.ExitCode);
    }

    [Theory]
    [InlineData(true, "json")]
    [InlineData(false, "msgpack")]
    public async Task A_delta_stream_decodes_to_the_same_payloads_in_dotnet_and_ably_js(bool binary, string jsFormat)
    {
        var channelName = Wait.UniqueChannel("cross-deltas");
        var sent = DeltasTests.Payloads();
        using var peer = StartPeer("deltas", channelName, sent.Count.ToString(System.Globalization.CultureInfo.InvariantCulture), jsFormat);
        Assert.Equal("READY", await ReadLineAsync(peer));

        await using var client = new RealtimeClient(server.Options(binary));
        var channel = client.Channels.Get(channelName, new ChannelOptions { Delta = ChannelOptions.VcdiffDelta });
        var live = channel.SubscribeAsync();
        await channel.AttachAsync().Within();
        for (var i = 0; i < sent.Count; i++)
        {
            await channel.PublishAsync(i.ToString(System.Globalization.CultureInfo.InvariantCulture), sent[i]).Within();
        }

        var received = await live.ReadAsync(sent.Count);
        var js = new List<JsonElement>();
        for (var i = 0; i < sent.Count; i++)
        {
            js.Add(JsonDocument.Parse(await ReadLineAsync(peer)).RootElement);
        }

        var decoderCalls = JsonDocument.Parse(await ReadLineAsync(peer)).RootElement.GetProperty("decoderCalls").GetInt32();
        await peer.WaitForExitAsync().Within();
        Assert.Equal(0, peer.ExitCode);
        for (var i = 0; i < sent.Count; i++)
        {
            DeltasTests.AssertPayload(sent[i], received[i], i);
            var data = js[i].GetProperty("data");
            switch (sent[i])
            {
                case string text:
                    Assert.Equal(text, data.GetString());
                    break;
                case byte[] bytes:
                    Assert.Equal(Convert.ToBase64String(bytes), data.GetProperty("$binary").GetString());
                    break;
                case JsonObject json:
                    Assert.True(JsonNode.DeepEquals(json, JsonNode.Parse(data.GetRawText())), $"ably-js message {i}: {data}");
                    break;
            }
        }

        // The same messages came as deltas to both, and each was decoded by its own decoder.
        Assert.Equal(js.Select(m => m.GetProperty("delta").GetBoolean()), received.Select(DeltasTests.IsDelta));
        Assert.Equal(received.Count(DeltasTests.IsDelta), decoderCalls);
        Assert.True(decoderCalls >= sent.Count - 6, $"{decoderCalls} of {sent.Count} were deltas");
    }

    [Theory]
    [InlineData(true, "json")]
    [InlineData(false, "msgpack")]
    public async Task Annotations_from_dotnet_and_ably_js_reach_each_other_and_one_summary(bool binary, string jsFormat)
    {
        var channelName = Wait.UniqueChannel("mutable:cross-annotations");
        using var peer = StartPeer("annotations", channelName, jsFormat);
        Assert.Equal("READY", await ReadLineAsync(peer));

        await using var client = new RealtimeClient(server.Options(binary) with { ClientId = "dotnet-peer" });
        var channel = client.Channels.Get(channelName, new ChannelOptions
        {
            Modes = ChannelModes.Publish | ChannelModes.Subscribe | ChannelModes.AnnotationPublish | ChannelModes.AnnotationSubscribe,
        });
        var raw = channel.Annotations.SubscribeAsync();
        var messages = channel.SubscribeAsync();
        await channel.AttachAsync().Within();
        var serial = (await channel.PublishAsync("question", "What is TokenWire?").Within()).Serials[0]!;

        // ably-js annotates the message as it arrives; .NET sees those, then adds its own.
        using var cancel = new CancellationTokenSource(Wait.Timeout);
        var fromJs = new[] { await raw.Reader.ReadAsync(cancel.Token), await raw.Reader.ReadAsync(cancel.Token) };
        Assert.Equal([("js", "js-peer"), ("both", "js-peer")], fromJs.Select(a => (a.Name!, a.ClientId!)));
        Assert.All(fromJs, a => Assert.Equal(("reaction:distinct.v1", serial, AnnotationActions.Create), (a.Type!, a.MessageSerial!, a.Action ?? 0)));
        await channel.Annotations.PublishAsync(serial, Messages.CreateAnnotation("reaction:distinct.v1", "both")).Within();

        var lines = new List<JsonElement>();
        do
        {
            lines.Add(JsonDocument.Parse(await ReadLineAsync(peer)).RootElement);
        }
        while (!(lines[^1].GetProperty("kind").GetString() == "summary" && lines[^1].GetProperty("summary").TryGetProperty("reaction:distinct.v1", out var entry)
                 && entry.TryGetProperty("both", out var both) && both.GetProperty("total").GetInt32() == 2));
        await peer.WaitForExitAsync().Within();
        Assert.Equal(0, peer.ExitCode);

        var annotations = lines.Where(l => l.GetProperty("kind").GetString() == "annotation").ToList();
        Assert.Equal([("js", "js-peer"), ("both", "js-peer"), ("both", "dotnet-peer")], annotations.Select(a => (a.GetProperty("name").GetString()!, a.GetProperty("clientId").GetString()!)));
        Assert.All(annotations, a => Assert.Equal(("annotation.create", serial), (a.GetProperty("action").GetString()!, a.GetProperty("messageSerial").GetString()!)));
        var jsSummary = lines[^1].GetProperty("summary").GetProperty("reaction:distinct.v1");
        Assert.Equal(["js-peer", "dotnet-peer"], jsSummary.GetProperty("both").GetProperty("clientIds").EnumerateArray().Select(c => c.GetString()));

        // The .NET subscriber's last summary is the same one.
        var summaries = await messages.ReadAsync(4);
        Assert.Equal([MessageActions.Create, MessageActions.Summary, MessageActions.Summary, MessageActions.Summary], summaries.Select(m => m.Action));
        var distinct = summaries[^1].GetSummary()!.GetDistinct("reaction:distinct.v1")!;
        Assert.Equal(["js-peer", "dotnet-peer"], distinct["both"].ClientIds);
        Assert.Equal(["js-peer"], distinct["js"].ClientIds);
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse(jsSummary.GetRawText()), JsonNode.Parse(summaries[^1].GetSummary()!.Entries["reaction:distinct.v1"].GetRawText())));
    }

    private static object Extras(int index) => new { headers = new { responseId = "net-1", index } };

    private Process StartPeer(params string[] args)
    {
        var info = new ProcessStartInfo("node")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = Path.GetDirectoryName(PeerScript)!,
        };
        info.ArgumentList.Add(PeerScript);
        info.ArgumentList.Add(args[0]);
        info.ArgumentList.Add(server.Port.ToString(System.Globalization.CultureInfo.InvariantCulture));
        foreach (var arg in args[1..])
        {
            info.ArgumentList.Add(arg);
        }

        return Process.Start(info) ?? throw new InvalidOperationException("could not start node");
    }

    private static async Task<string> ReadLineAsync(Process peer)
    {
        var line = await peer.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(30));
        if (line is null)
        {
            var error = await peer.StandardError.ReadToEndAsync();
            throw new InvalidOperationException("The ably JS peer ended early: " + error);
        }

        return line;
    }

    private static string RepoRoot()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "TokenWire.sln")))
        {
            directory = directory.Parent;
        }

        return directory?.FullName ?? throw new InvalidOperationException("TokenWire.sln not found above the test output");
    }
}
