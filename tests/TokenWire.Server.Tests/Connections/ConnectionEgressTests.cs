using System.Buffers;
using System.Net;
using System.Net.Sockets;
using System.Net.WebSockets;
using TokenWire.Conformance;
using TokenWire.Protocol;
using TokenWire.Server.Connections;
using TokenWire.Server.Fanout;

namespace TokenWire.Server.Tests.Connections;

/// <summary>What a connection's egress writes to its socket when messages of a channel queue up behind each other.</summary>
public sealed class ConnectionEgressTests
{
    [Theory]
    [InlineData(WireFormat.Json)]
    [InlineData(WireFormat.MessagePack)]
    public async Task Queued_messages_go_out_as_one_frame_that_carries_their_shared_connection_and_time_once(WireFormat format)
    {
        Message[] sent =
        [
            Message("a", 1000),
            Message("a", 1000),
            Message("a", 1001),
            Message("b", 1000),
        ];

        var frames = await WriteQueuedAsync(format, sent);

        var frame = Assert.Single(frames);
        Assert.Equal("a", frame.ConnectionId);
        Assert.Equal(1000, frame.Timestamp);
        Assert.Equal("01-000000000004", frame.ChannelSerial);
        var onWire = frame.Messages!;
        Assert.All(onWire.Take(3), m => Assert.Null(m.ConnectionId));
        Assert.Null(onWire[0].Timestamp);
        Assert.Equal(1001, onWire[2].Timestamp);
        Assert.Equal("b", onWire[3].ConnectionId);
        Assert.Equal(1000, onWire[3].Timestamp);
        AssertAsTheSdkSeesThem(sent, frame);
    }

    [Theory]
    [InlineData(WireFormat.Json)]
    [InlineData(WireFormat.MessagePack)]
    public async Task A_message_without_a_connection_keeps_the_frame_from_carrying_one(WireFormat format)
    {
        Message[] sent = [Message("a", 1000), Message(null, 1000)];

        var frames = await WriteQueuedAsync(format, sent);

        var frame = Assert.Single(frames);
        Assert.Null(frame.ConnectionId);
        Assert.Equal(1000, frame.Timestamp);
        Assert.Equal("a", frame.Messages![0].ConnectionId);
        AssertAsTheSdkSeesThem(sent, frame);
    }

    [Theory]
    [InlineData(WireFormat.Json)]
    [InlineData(WireFormat.MessagePack)]
    public async Task A_batch_that_starts_a_frame_is_not_bundled_after_the_ones_before_it(WireFormat format)
    {
        // A delta chain's first delta after a whole message (DeltaChain): the whole one must end its frame.
        Message[] sent = [Message("a", 1000), Message("a", 1000), Message("a", 1000), Message("a", 1000)];

        var frames = await WriteQueuedAsync(format, sent, startsFrame: 2);

        Assert.Equal(2, frames.Count);
        Assert.Equal(["a:1000:0", "a:1000:0"], frames[0].Messages!.Select(m => m.Id));
        Assert.Equal("01-000000000002", frames[0].ChannelSerial);
        Assert.Equal(2, frames[1].Messages!.Count);
        Assert.Equal("01-000000000004", frames[1].ChannelSerial);
    }

    [Theory]
    [InlineData(WireFormat.Json)]
    [InlineData(WireFormat.MessagePack)]
    public async Task A_lone_message_goes_out_as_its_shared_frame_and_another_channel_after_it_in_a_frame_of_its_own(WireFormat format)
    {
        // A one-message batch is held outside the bundle list until a second joins it: a batch of another channel
        // must still close its frame, and one made for this connection alone is still composed under its own name.
        MessageBatch[] batches =
        [
            new("chat", "01-000000000001", [new DeliveredMessage(Message("a", 1000), 1)]),
            new("news", "02-000000000001", [new DeliveredMessage(Message("a", 1000), 1)]),
            new("[?rewind=1]news", "02-000000000002", [new DeliveredMessage(Message("a", 1001), 2)]) { ComposedFromMessages = true },
            new("chat", "01-000000000002", [new DeliveredMessage(Message("a", 1002), 2)]),
        ];

        var frames = await WriteQueuedAsync(format, batches);

        Assert.Equal(4, frames.Count);
        Assert.Equal(batches[0].GetFrame(format).ToArray(), frames[0]);
        Assert.Equal(batches[1].GetFrame(format).ToArray(), frames[1]);
        Assert.Equal(batches[3].GetFrame(format).ToArray(), frames[3]);
        var composed = ProtocolCodecs.For(format).Decode(frames[2]);
        Assert.Equal("[?rewind=1]news", composed.Channel);
        Assert.Equal("02-000000000002", composed.ChannelSerial);
        AssertAsTheSdkSeesThem([Message("a", 1001)], composed);
    }

    private static Message Message(string? connectionId, long timestamp) => new()
    {
        Id = $"{connectionId}:{timestamp}:0",
        Name = "token",
        Data = MessageData.FromText("t"),
        ConnectionId = connectionId,
        Timestamp = timestamp,
        Action = MessageActions.Create,
    };

    /// <summary>What ably-js and TokenWire.Client do on receipt (TM2c, TM2f): a message without them takes the frame's.</summary>
    private static void AssertAsTheSdkSeesThem(Message[] sent, ProtocolMessage frame)
    {
        Assert.Equal(sent.Length, frame.Messages!.Count);
        for (var i = 0; i < sent.Length; i++)
        {
            var received = frame.Messages[i];
            Assert.Equal(sent[i].Id, received.Id);
            Assert.Equal(sent[i].ConnectionId, received.ConnectionId ?? frame.ConnectionId);
            Assert.Equal(sent[i].Timestamp, received.Timestamp ?? frame.Timestamp);
        }
    }

    /// <summary>Queues one batch per message before the writer starts, so it finds them all waiting, then reads what it wrote.</summary>
    private static async Task<List<ProtocolMessage>> WriteQueuedAsync(WireFormat format, Message[] messages, int startsFrame = -1)
    {
        var batches = new MessageBatch[messages.Length];
        for (var i = 0; i < messages.Length; i++)
        {
            var offset = i + 1;
            batches[i] = new MessageBatch("chat", $"01-{offset:D12}", [new DeliveredMessage(messages[i], offset)]) { StartsFrame = i == startsFrame };
        }

        var codec = ProtocolCodecs.For(format);
        return [.. (await WriteQueuedAsync(format, batches)).Select(frame => codec.Decode(frame))];
    }

    /// <summary>Queues the batches before the writer starts, so it finds them all waiting, then reads the frames it wrote.</summary>
    private static async Task<List<byte[]>> WriteQueuedAsync(WireFormat format, MessageBatch[] batches)
    {
        var egress = new ConnectionEgress(format, maxQueuedBytes: 1 << 20, maxOutboundRate: 0, TimeProvider.System);
        foreach (var batch in batches)
        {
            Assert.True(egress.TryEnqueue(batch));
        }

        egress.Complete();
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        using var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, ((IPEndPoint)listener.LocalEndpoint).Port);
        using var accepted = await listener.AcceptTcpClientAsync();
        using var serverSocket = WebSocket.CreateFromStream(accepted.GetStream(), isServer: true, subProtocol: null, keepAliveInterval: Timeout.InfiniteTimeSpan);
        using var clientSocket = WebSocket.CreateFromStream(client.GetStream(), isServer: false, subProtocol: null, keepAliveInterval: Timeout.InfiniteTimeSpan);

        await egress.WriteAllAsync(serverSocket, CancellationToken.None).Within();
        await serverSocket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, CancellationToken.None);

        var frames = new List<byte[]>();
        var buffer = new ArrayBufferWriter<byte>();
        while (true)
        {
            var result = await clientSocket.ReceiveAsync(buffer.GetMemory(4096), CancellationToken.None).AsTask().Within();
            if (result.MessageType == WebSocketMessageType.Close)
            {
                return frames;
            }

            buffer.Advance(result.Count);
            if (result.EndOfMessage)
            {
                frames.Add(buffer.WrittenSpan.ToArray());
                buffer.ResetWrittenCount();
            }
        }
    }
}
