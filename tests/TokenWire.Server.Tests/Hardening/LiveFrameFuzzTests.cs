using System.Collections.Concurrent;
using System.Globalization;
using System.Net.WebSockets;
using TokenWire.Client;
using TokenWire.Protocol;
using TokenWire.Protocol.Tests.Fuzzing;
using TokenWire.Protocol.Tests.Support;
using TokenWire.Server.Tests.Support;
using Xunit.Abstractions;

namespace TokenWire.Server.Tests.Hardening;

/// <summary>
/// Hostile frames through live connections (issue 5, hardening): raw WebSockets in both formats fire mutated ably-js
/// frames at a real server process, reconnecting whenever the server closes on them, while a well-behaved client
/// streams on another connection. The stream loses nothing, every frame the server sends back is well formed and
/// carries no internal (5xxxx) error, the server logs no error, and it still answers /health afterwards.
/// </summary>
[Collection(ServerProcessCollection.Name)]
public sealed class LiveFrameFuzzTests(ServerProcessFixture server, ITestOutputHelper output)
{
    private const int FuzzFrames = 20_000;
    private const int StreamMessages = 2_000;
    private const int Workers = 16;

    /// <summary>A bound on a hang: the server answers a ping after any frame within this, or it is stuck.</summary>
    private static readonly TimeSpan Answer = Wait.Timeout;

    [Fact]
    public async Task Mutated_frames_on_reconnecting_sockets_leave_the_server_healthy_and_a_streaming_client_loses_nothing()
    {
        var options = RealtimeClientOptions.Default with
        {
            Key = ServerProcessFixture.RootKey,
            Endpoint = server.Host,
            Port = server.Port,
            Tls = false,
            DisconnectedRetryTimeout = TimeSpan.FromSeconds(1),
        };
        await using var publisher = new RealtimeClient(options with { UseBinaryProtocol = true });
        await using var subscriber = new RealtimeClient(options with { UseBinaryProtocol = false });
        var name = $"fuzz-stream-{Guid.NewGuid():N}";
        var inbound = subscriber.Channels.Get(name);
        using var subscription = inbound.SubscribeAsync();
        await inbound.AttachAsync().Within();
        var outbound = publisher.Channels.Get(name);
        await publisher.ConnectAsync().Within();

        // Watchers in both formats on every channel the fuzzed frames name: whatever a mutated publish gets accepted
        // with is relayed to them (and read back from history), so a message one format cannot re-encode shows here.
        await using var msgpackWatcher = new RealtimeClient(options with { UseBinaryProtocol = true });
        await using var jsonWatcher = new RealtimeClient(options with { UseBinaryProtocol = false });
        var watched = SeedChannels();
        var relayed = 0;
        var watcherTrouble = new ConcurrentQueue<string>();
        foreach (var watcher in (RealtimeClient[])[msgpackWatcher, jsonWatcher])
        {
            await watcher.ConnectAsync().Within();
            watcher.Connection.StateChanged += (_, change) => watcherTrouble.Enqueue($"{(watcher.Options.UseBinaryProtocol ? "msgpack" : "json")} watcher: {change.Previous} -> {change.Current} ({change.Reason})");
            foreach (var channel in watched)
            {
                var realtimeChannel = watcher.Channels.Get(channel);
                _ = DrainAsync(realtimeChannel.SubscribeAsync(), () => Interlocked.Increment(ref relayed));
                await realtimeChannel.AttachAsync().Within();
            }
        }

        var stats = new FuzzStats();
        var fuzzers = Enumerable.Range(0, Workers).Select(worker => Task.Run(() => FuzzAsync(worker, stats))).ToArray();

        // The stream runs while the fuzzers do: publishes are fired without awaiting, a few at a time.
        var publishes = new Task<PublishResult>[StreamMessages];
        for (var i = 0; i < StreamMessages; i++)
        {
            publishes[i] = outbound.PublishAsync("n", i.ToString(CultureInfo.InvariantCulture));
            if (i % 20 == 19)
            {
                await Task.Delay(1);
            }
        }

        // The work is bounded by count (StreamMessages, FuzzFrames): wait for it to complete while it progresses,
        // however long a loaded box makes it take.
        var results = await Wait.WhileProgressing("the stream's ACKs", Task.WhenAll(publishes), () => publishes.Count(p => p.IsCompleted));
        var received = await ReadAsync(subscription, StreamMessages);
        await Wait.WhileProgressing("the fuzzers", Task.WhenAll(fuzzers), () => stats.Survived + stats.Closed);

        for (var i = 0; i < StreamMessages; i++)
        {
            Assert.Equal(i.ToString(CultureInfo.InvariantCulture), received[i].GetText());
            Assert.Equal(results[i].Serials[0], received[i].Serial);
        }

        output.WriteLine($"{stats.Frames} fuzz frames over {stats.Connections} connections: {stats.Survived} left the connection up, {stats.Closed} closed it");
        Assert.Equal(0, subscription.DroppedCount);
        Assert.True(stats.Frames >= FuzzFrames, $"only {stats.Frames} fuzz frames were answered");
        Assert.True(stats.Connections > Workers, $"the fuzzers never had to reconnect ({stats.Connections} connections)");
        Assert.True(stats.Survived > 0 && stats.Closed > 0, $"survived {stats.Survived}, closed {stats.Closed}: the corpus should produce both");
        Assert.True(stats.Problems.IsEmpty, $"{stats.Problems.Count} problems:\n{string.Join('\n', stats.Problems.Take(10))}");

        foreach (var watcher in (RealtimeClient[])[msgpackWatcher, jsonWatcher])
        {
            foreach (var channel in watched)
            {
                await watcher.Channels.Get(channel).HistoryAsync().Within();
            }
        }

        output.WriteLine($"{relayed} accepted fuzz messages relayed to the watchers of {string.Join(", ", watched)}");
        Assert.True(watcherTrouble.IsEmpty, string.Join('\n', watcherTrouble));
        Assert.True(relayed > 0, "no mutated publish was accepted: the relay path was not exercised");

        using var http = new HttpClient { BaseAddress = server.BaseUri, Timeout = TimeSpan.FromSeconds(10) };
        using var health = await http.GetAsync(new Uri("health", UriKind.Relative));
        Assert.Equal(System.Net.HttpStatusCode.OK, health.StatusCode);
        Assert.False(server.HasExited, "the server process exited");
        Assert.True(server.ErrorLines.Count == 0, $"the server logged errors:\n{string.Join('\n', server.ErrorLines.Take(40))}");
    }

    [Theory]
    [InlineData("invalid UTF-8 in extras", "{\"action\":15,\"channel\":\"{0}\",\"msgSerial\":0,\"messages\":[{\"name\":\"poison\",\"extras\":{\"headers\":{\"x\":\"\xff\"}}}]}")]
    [InlineData("half a surrogate pair in extras", "{\"action\":15,\"channel\":\"{0}\",\"msgSerial\":0,\"messages\":[{\"name\":\"poison\",\"extras\":{\"headers\":{\"x\":\"\\ud800\"}}}]}")]
    [InlineData("a key that is half a surrogate pair", "{\"action\":15,\"channel\":\"{0}\",\"msgSerial\":0,\"messages\":[{\"name\":\"poison\",\"extras\":{\"\\udc00\":1}}]}")]
    public async Task A_json_publish_that_msgpack_could_not_relay_is_refused_and_msgpack_subscribers_keep_their_connection(string what, string template)
    {
        // Regression (found by DecoderFuzzTests): such extras were accepted, then failed to encode for every msgpack
        // subscriber, ending their transports; they resumed, were replayed the message, and failed again.
        var name = $"poison-{Guid.NewGuid():N}";
        var options = RealtimeClientOptions.Default with { Key = ServerProcessFixture.RootKey, Endpoint = server.Host, Port = server.Port, Tls = false };
        await using var subscriber = new RealtimeClient(options with { UseBinaryProtocol = true });
        var states = new ConcurrentQueue<string>();
        var channel = subscriber.Channels.Get(name);
        using var subscription = channel.SubscribeAsync();
        await channel.AttachAsync().Within();
        subscriber.Connection.StateChanged += (_, change) => states.Enqueue($"{change.Previous} -> {change.Current} ({change.Reason})");

        using var socket = new ClientWebSocket();
        await socket.ConnectAsync(new Uri($"ws://{server.Host}:{server.Port}/?key={Uri.EscapeDataString(ServerProcessFixture.RootKey)}&format=json&heartbeats=false&v=6"), CancellationToken.None).Within();
        var stats = new FuzzStats();
        Assert.Equal(ProtocolAction.Connected, (await ReceiveAsync(socket, ProtocolCodecs.Json, stats, "CONNECTED"))?.Action);
        var frame = System.Text.Encoding.Latin1.GetBytes(template.Replace("{0}", name, StringComparison.Ordinal));
        await socket.SendAsync(frame, WebSocketMessageType.Binary, endOfMessage: true, CancellationToken.None).Within();
        var answer = await ReceiveAsync(socket, ProtocolCodecs.Json, stats, what);

        Assert.NotNull(answer);
        Assert.True(answer.Action is ProtocolAction.Error or ProtocolAction.Nack, $"{what}: answered {answer.Action}");
        Assert.Equal(ErrorCodes.BadRequest, answer.Error?.Code);
        await channel.PublishAsync("after", "fine").Within();
        var received = await ReadAsync(subscription, 1);
        Assert.Equal("after", received[0].Name);
        Assert.True(states.IsEmpty, string.Join('\n', states));
    }

    private sealed class FuzzStats
    {
        private int _frames;
        private int _connections;
        private int _survived;
        private int _closed;

        public int Frames => Volatile.Read(ref _frames);

        public int Connections => Volatile.Read(ref _connections);

        public int Survived => Volatile.Read(ref _survived);

        public int Closed => Volatile.Read(ref _closed);

        public ConcurrentQueue<string> Problems { get; } = new();

        /// <summary>Claims the next frame to send; false once the total has been reached.</summary>
        public bool Claim() => Interlocked.Increment(ref _frames) <= FuzzFrames || Undo();

        public void Connected() => Interlocked.Increment(ref _connections);

        public void Outcome(bool survived) => Interlocked.Increment(ref survived ? ref _survived : ref _closed);

        public void Problem(string problem)
        {
            if (Problems.Count < 100)
            {
                Problems.Enqueue(problem);
            }
        }

        private bool Undo()
        {
            Interlocked.Decrement(ref _frames);
            return false;
        }
    }

    private async Task FuzzAsync(int worker, FuzzStats stats)
    {
        var format = worker % 2 == 0 ? WireFormat.Json : WireFormat.MessagePack;
        var codec = ProtocolCodecs.For(format);
        var mutator = new FrameMutator(9000 + worker);
        var random = new Random(worker);
        List<byte[]> seeds =
        [
            .. CapturedFrames.ClientFrameNames.Select(n => CapturedFrames.Client(format, n)),
            .. CapturedFrames.ServerFrameNames.Select(n => CapturedFrames.Server(format, n)),
        ];
        var pings = 0;
        while (stats.Frames < FuzzFrames)
        {
            using var socket = new ClientWebSocket();
            var uri = new Uri($"ws://{server.Host}:{server.Port}/?key={Uri.EscapeDataString(ServerProcessFixture.RootKey)}&format={(format == WireFormat.Json ? "json" : "msgpack")}&heartbeats=false&v=6");
            using (var connect = new CancellationTokenSource(Answer))
            {
                await socket.ConnectAsync(uri, connect.Token);
            }

            stats.Connected();
            var connected = await ReceiveAsync(socket, codec, stats, "CONNECTED");
            if (connected?.Action != ProtocolAction.Connected)
            {
                stats.Problem($"worker {worker}: expected CONNECTED, got {connected?.Action.ToString() ?? "a close"}");
                return;
            }

            while (socket.State == WebSocketState.Open && stats.Claim())
            {
                var frame = mutator.Mutate(seeds[random.Next(seeds.Count)], format);

                // Mostly the format's own frame type; sometimes the other one (text msgpack, binary JSON).
                var type = (format == WireFormat.Json) ^ (random.Next(10) == 0) ? WebSocketMessageType.Text : WebSocketMessageType.Binary;
                var id = $"fuzz-{worker}-{++pings}";
                try
                {
                    using var send = new CancellationTokenSource(Answer);
                    await socket.SendAsync(frame, type, endOfMessage: true, send.Token);
                    await socket.SendAsync(codec.Encode(new ProtocolMessage(ProtocolAction.Heartbeat) { Id = id }), format == WireFormat.Json ? WebSocketMessageType.Text : WebSocketMessageType.Binary, endOfMessage: true, send.Token);
                }
                catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or ObjectDisposedException)
                {
                    // The server closed on the frame before (or while) it was sent: a refusal, handled below.
                }

                // Read until the ping comes back (the frame was handled and the connection lives) or the socket closes.
                while (true)
                {
                    var answer = await ReceiveAsync(socket, codec, stats, $"answer to a {frame.Length}-byte {format} frame {Convert.ToHexString(frame.AsSpan(0, Math.Min(48, frame.Length)))}");
                    if (answer is null)
                    {
                        stats.Outcome(survived: false);
                        break;
                    }

                    if (answer.Action == ProtocolAction.Heartbeat && answer.Id == id)
                    {
                        stats.Outcome(survived: true);
                        break;
                    }
                }
            }

            socket.Abort();
        }
    }

    /// <summary>The next frame from the server, decoded; null once the socket is closed. Records what should never happen.</summary>
    private static async Task<ProtocolMessage?> ReceiveAsync(ClientWebSocket socket, IProtocolCodec codec, FuzzStats stats, string what)
    {
        var buffer = new MemoryStream();
        var chunk = new byte[8192];
        using var timeout = new CancellationTokenSource(Answer);
        try
        {
            WebSocketReceiveResult result;
            do
            {
                result = await socket.ReceiveAsync(chunk, timeout.Token);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    return null;
                }

                buffer.Write(chunk, 0, result.Count);
            }
            while (!result.EndOfMessage);
        }
        catch (OperationCanceledException)
        {
            stats.Problem($"no answer within {Answer.TotalSeconds} s: {what}");
            return null;
        }
        catch (Exception ex) when (ex is WebSocketException or ObjectDisposedException)
        {
            return null;
        }

        ProtocolMessage message;
        try
        {
            message = codec.Decode(buffer.ToArray());
        }
        catch (ProtocolException ex)
        {
            stats.Problem($"the server sent a frame its own codec cannot read ({ex.Error.Message}): {what}");
            return null;
        }

        // Refusals are 4xxxx (request), 8xxxx (connection) or 9xxxx (channel) with a 4xx status; 5xxxx would be a server fault.
        if (message.Error is { } error && (error.Code is < 40000 or (>= 50000 and < 80000) || error.StatusCode is < 400 or >= 500))
        {
            stats.Problem($"{message.Action} with {error}: {what}");
        }

        return message;
    }

    /// <summary>The channels named by the captured frames (the ones mutated publishes and attaches mostly target).</summary>
    private static List<string> SeedChannels() =>
        [.. CapturedFrames.ClientFrameNames
            .Select(n => ProtocolCodecs.Json.Decode(CapturedFrames.Client(WireFormat.Json, n)).Channel)
            .OfType<string>()
            .Distinct(StringComparer.Ordinal)
            .Order(StringComparer.Ordinal)];

    private static async Task DrainAsync(MessageSubscription subscription, Action onMessage)
    {
        await foreach (var _ in subscription)
        {
            onMessage();
        }
    }

    /// <summary>Reads <paramref name="count"/> messages, failing only if the next one does not come within <see cref="Wait.Timeout"/>.</summary>
    private static async Task<List<Protocol.Message>> ReadAsync(MessageSubscription subscription, int count)
    {
        using var cancel = new CancellationTokenSource();
        var items = new List<Protocol.Message>(count);
        try
        {
            while (items.Count < count)
            {
                cancel.CancelAfter(Wait.Timeout);
                items.Add(await subscription.Reader.ReadAsync(cancel.Token));
            }
        }
        catch (OperationCanceledException)
        {
            Assert.Fail($"received {items.Count} of {count} streamed messages, then none for {Wait.Timeout}");
        }

        return items;
    }
}
