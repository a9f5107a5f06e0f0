using Microsoft.Extensions.Logging.Abstractions;
using TokenWire.Protocol;
using TokenWire.Server.Connections;
using TokenWire.Server.Engine;

namespace TokenWire.Server.Tests.Connections;

public sealed class AcknowledgementQueueTests
{
    private readonly List<ProtocolMessage> _sent = [];
    private readonly List<ErrorInfo> _endedWith = [];

    [Fact]
    public async Task Answers_go_out_in_msgSerial_order_whatever_order_the_operations_complete_in()
    {
        var queue = NewQueue();
        var first = new TaskCompletionSource<PublishResult?>();
        var second = new TaskCompletionSource<PublishResult?>();
        queue.Enqueue(0, new ValueTask<PublishResult?>(first.Task));
        queue.Enqueue(1, new ValueTask<PublishResult?>(second.Task));
        queue.Nack(2, ErrorCodes.Create(ErrorCodes.InboundRateLimited, "slow down"));

        second.SetResult(new PublishResult(["s1"]));
        await Task.Yield();
        Assert.Empty(Sent());
        first.SetResult(new PublishResult(["s0"]));

        await Wait.Eventually("three answers", () => Sent().Count == 3);
        Assert.Equal([(ProtocolAction.Ack, 0L), (ProtocolAction.Ack, 1L), (ProtocolAction.Nack, 2L)], Sent().Select(m => (m.Action, m.MsgSerial!.Value)));
        Assert.Equal("s0", Sent()[0].Res![0].Serials[0]);
        Assert.Equal(ErrorCodes.InboundRateLimited, Sent()[2].Error!.Code);
    }

    [Fact]
    public async Task A_refusal_is_a_NACK_with_its_error_and_an_unexpected_failure_a_NACK_that_invites_a_retry()
    {
        var queue = NewQueue();
        queue.Enqueue(0, ValueTask.FromException<PublishResult?>(new ProtocolException(ErrorCodes.MessageTooLarge, "too big")));
        queue.Enqueue(1, ValueTask.FromException<PublishResult?>(new InvalidOperationException("boom")));
        queue.Enqueue(2, ValueTask.FromResult<PublishResult?>(null)); // presence: an ACK without res

        await Wait.Eventually("three answers", () => Sent().Count == 3);
        Assert.Equal(ErrorCodes.MessageTooLarge, Sent()[0].Error!.Code);
        Assert.Equal(ErrorCodes.InternalChannelError, Sent()[1].Error!.Code);
        Assert.Equal((ProtocolAction.Ack, null), (Sent()[2].Action, Sent()[2].Res));
    }

    [Fact]
    public async Task A_full_window_makes_the_reader_wait_for_the_answers()
    {
        var queue = NewQueue();
        var gate = new TaskCompletionSource<PublishResult?>();
        for (var i = 0; i <= 256; i++)
        {
            queue.Enqueue(i, new ValueTask<PublishResult?>(gate.Task));
        }

        var waiting = queue.WaitForRoomAsync().AsTask();
        await Task.Yield();
        Assert.False(waiting.IsCompleted);
        gate.SetResult(new PublishResult(["s"]));
        await waiting.Within();
        await Wait.Eventually("every answer", () => Sent().Count == 257);
    }

    [Fact]
    public async Task An_operation_that_outlasted_an_engine_outage_ends_the_transport_instead_of_a_NACK_and_nothing_is_answered_after_it()
    {
        var queue = NewQueue();
        var later = new TaskCompletionSource<PublishResult?>();
        queue.Enqueue(0, ValueTask.FromResult<PublishResult?>(new PublishResult(["s0"])));
        queue.Enqueue(1, ValueTask.FromException<PublishResult?>(new EngineUnavailableException("store away")));
        queue.Enqueue(2, new ValueTask<PublishResult?>(later.Task));
        queue.Nack(3, ErrorCodes.Create(ErrorCodes.InboundRateLimited, "slow down"));
        later.SetResult(new PublishResult(["s2"]));

        await queue.Answered.Within();
        Assert.Single(_endedWith);
        Assert.Equal(ErrorCodes.ServiceUnavailable, _endedWith[0].Code);
        // Only the ACK before the outage: a later ACK or NACK would let the client reorder or duplicate on its retry.
        Assert.Equal([(ProtocolAction.Ack, 0L)], Sent().Select(m => (m.Action, m.MsgSerial!.Value)));
    }

    [Fact]
    public async Task Each_answer_is_written_as_the_ACK_a_new_ProtocolMessage_made_in_both_formats_though_the_queue_reuses_one()
    {
        // The transport encodes what it is lent during the call; the bytes must be those of a fresh ACK: one serial,
        // several, an idempotent duplicate's (no serial for the message already stored), then a presence ACK (no res)
        // after those, and a NACK between ACKs.
        PublishResult?[] results = [new(["e1@1:0"]), new(["e1@2:0", "e1@2:1", "e1@2:2"]), new([null]), new([null, "e1@3:1"]), null, new(["e1@4:0"])];
        var written = new List<(byte[] Json, byte[] MessagePack)>();
        var queue = new AcknowledgementQueue(
            m => written.Add((ProtocolCodecs.Json.Encode(m), ProtocolCodecs.MessagePack.Encode(m))),
            _ => { },
            NullLogger.Instance,
            "conn-1");
        for (var i = 0; i < results.Length; i++)
        {
            queue.Enqueue(i, ValueTask.FromResult(results[i]));
        }

        queue.Nack(results.Length, ErrorCodes.Create(ErrorCodes.InboundRateLimited, "slow down"));
        queue.Enqueue(results.Length + 1, ValueTask.FromResult<PublishResult?>(new(["e1@5:0"])));
        await queue.Answered.Within();

        Assert.Equal(results.Length + 2, written.Count);
        for (var i = 0; i < results.Length; i++)
        {
            var fresh = new ProtocolMessage(ProtocolAction.Ack) { MsgSerial = i, Count = 1, Res = results[i] is { } result ? [result] : null };
            Assert.Equal(ProtocolCodecs.Json.Encode(fresh), written[i].Json);
            Assert.Equal(ProtocolCodecs.MessagePack.Encode(fresh), written[i].MessagePack);
        }

        var last = new ProtocolMessage(ProtocolAction.Ack) { MsgSerial = results.Length + 1, Count = 1, Res = [new(["e1@5:0"])] };
        Assert.Equal(ProtocolCodecs.Json.Encode(last), written[^1].Json);
        Assert.Equal(ProtocolCodecs.MessagePack.Encode(last), written[^1].MessagePack);
    }

    [Fact]
    public async Task An_answer_a_transport_keeps_is_a_copy_unchanged_by_the_answers_after_it()
    {
        var lent = new List<ProtocolMessage>();
        var kept = new List<ProtocolMessage>();
        var queue = new AcknowledgementQueue(
            m =>
            {
                lent.Add(m);
                kept.Add(AcknowledgementQueue.Keep(m));
            },
            _ => { },
            NullLogger.Instance,
            "conn-1");
        queue.Enqueue(0, ValueTask.FromResult<PublishResult?>(new(["s0"])));
        queue.Enqueue(1, ValueTask.FromResult<PublishResult?>(new(["s1a", "s1b"])));
        await queue.Answered.Within();

        Assert.Same(lent[0], lent[1]); // what is lent is reused: keeping it would be a bug
        Assert.Equal([0L, 1L], kept.Select(m => m.MsgSerial!.Value));
        Assert.Equal(["s0"], kept[0].Res!.Single().Serials);
        Assert.Equal(["s1a", "s1b"], kept[1].Res!.Single().Serials);
        Assert.All(kept, m => Assert.Equal((ProtocolAction.Ack, 1), (m.Action, m.Count!.Value)));
    }

    private AcknowledgementQueue NewQueue() => new(
        m =>
        {
            lock (_sent)
            {
                _sent.Add(AcknowledgementQueue.Keep(m)); // as a transport that queues it: the answer is only lent
            }
        },
        e =>
        {
            lock (_sent)
            {
                _endedWith.Add(e);
            }
        },
        NullLogger.Instance,
        "conn-1");

    private List<ProtocolMessage> Sent()
    {
        lock (_sent)
        {
            return [.. _sent];
        }
    }
}
