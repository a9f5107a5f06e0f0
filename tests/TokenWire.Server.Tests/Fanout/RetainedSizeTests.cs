using TokenWire.Protocol;
using TokenWire.Protocol.MessagePack;
using TokenWire.Server.Connections;
using TokenWire.Server.Fanout;
using TokenWire.Server.Log;

namespace TokenWire.Server.Tests.Fanout;

/// <summary>
/// A connection's outbound bound weighs a queued batch by its bytes plus the objects it keeps alive, so the bound holds
/// for memory (issue 12: a stuck subscriber keeps server memory under it). These check the estimate against what
/// allocating the objects costs on this runtime: never under it, and not far over.
/// </summary>
public sealed class RetainedSizeTests
{
    private const int Batches = 2000;

    [Theory]
    [InlineData(WireFormat.Json)]
    [InlineData(WireFormat.MessagePack)]
    public void A_live_batch_weighs_at_least_what_its_objects_and_frame_cost_and_not_a_third_more(WireFormat format)
    {
        _ = LiveBatch(0).GetQueuedWeight(format); // first calls: cached delegates, the encoder's scratch buffer

        var batches = new MessageBatch[Batches];
        var weight = 0L;
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < Batches; i++)
        {
            batches[i] = LiveBatch(i);
            weight += batches[i].GetQueuedWeight(format) - RetainedSize.QueueSlot;
        }

        var allocated = GC.GetAllocatedBytesForCurrentThread() - before - (24 + (8 * Batches)); // less the test's array
        GC.KeepAlive(batches);

        Assert.InRange(weight, allocated, allocated * 4 / 3);
    }

    [Fact]
    public void A_replayed_delivery_weighs_at_least_its_objects_besides_its_stored_bytes()
    {
        var message = new Message { Id = "pub:1:0", ConnectionId = PublisherConnection, Name = "token", Data = MessageData.FromText("hello"), Action = MessageActions.Create };
        var entry = new StoredEntry("01765000000000", 5, null, 1_765_000_000_000, StoredMessageCodec.Encode(message));
        _ = new DeliveredMessage(entry);

        var before = GC.GetAllocatedBytesForCurrentThread();
        var delivery = new DeliveredMessage(entry);
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.InRange(delivery.RetainedObjectBytes - entry.Bytes.Length, allocated, allocated * 4 / 3);
    }

    [Fact]
    public void The_objects_alone_are_about_twice_a_typical_token_frame()
    {
        var batch = LiveBatch(7);

        var frame = batch.GetQueuedSize(WireFormat.Json);

        Assert.InRange(batch.RetainedObjectBytes, frame, 4 * frame);
    }

    [Fact]
    public void A_stuck_connection_is_refused_before_its_queue_holds_more_than_the_bound_in_memory()
    {
        const long bound = 256 * 1024;
        var egress = new ConnectionEgress(WireFormat.Json, bound, maxOutboundRate: 0, TimeProvider.System);
        var accepted = 0L;
        var before = GC.GetAllocatedBytesForCurrentThread();
        var batches = new List<MessageBatch>();
        for (var i = 0; ; i++)
        {
            var batch = LiveBatch(i);
            batches.Add(batch);
            if (!egress.TryEnqueue(batch))
            {
                break;
            }

            accepted++;
        }

        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        GC.KeepAlive(batches);

        // By frame bytes alone (about 200 each) the queue would have taken over 1,300 of them.
        Assert.True(allocated <= bound * 5 / 4, $"{accepted} batches queued, {allocated} bytes allocated for them");
        Assert.InRange(egress.QueuedBytes, bound * 3 / 4, bound);
        egress.Complete();
    }

    /// <summary>A token as a publish logs and delivers it: its own id, serial, data and headers; the publisher's connection.</summary>
    private static MessageBatch LiveBatch(int i)
    {
        var message = new Message
        {
            Id = Text('i', 24),
            ConnectionId = PublisherConnection,
            Name = Text('n', 5),
            Data = MessageData.FromText(Text('d', 12)),
            Extras = new JsonPayload(Json(48)),
            Serial = Text('s', 30),
            Timestamp = 1_765_000_000_000 + i,
            Action = MessageActions.Create,
        };

        return new MessageBatch("chat", Text('c', 30), [new DeliveredMessage(new LogEntry(i + 1, message) { LoggedAt = message.Timestamp!.Value })]);
    }

    private const string PublisherConnection = "pubconnection1";

    private static string Text(char c, int length) => new(c, length);

    /// <summary>A JSON object of the given length, allocating only its array.</summary>
    private static byte[] Json(int length)
    {
        var json = new byte[length];
        json.AsSpan().Fill((byte)'a');
        "{\"x\":\""u8.CopyTo(json);
        "\"}"u8.CopyTo(json.AsSpan(length - 2));
        return json;
    }
}
