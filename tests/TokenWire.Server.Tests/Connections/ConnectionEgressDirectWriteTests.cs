using Microsoft.Extensions.Time.Testing;
using TokenWire.Protocol;
using TokenWire.Server.Connections;
using TokenWire.Server.Fanout;

namespace TokenWire.Server.Tests.Connections;

/// <summary>
/// An ACK, NACK or delivery written by the thread that answers or hands it over (<c>ConnectionEgress.TryWriteNow</c>)
/// when the egress is idle, and the writer's frames: one owner of the wire at a time, nothing overtaking what was
/// queued before it, and a peer that is not reading holding up only its own connection's writer.
/// </summary>
public sealed class ConnectionEgressDirectWriteTests
{
    [Fact]
    public async Task On_an_idle_connection_the_answer_is_written_before_the_call_returns()
    {
        var wire = new RecordingWire();
        var (egress, writer) = Start(wire);

        Assert.True(egress.TryWriteNow(Ack(0), CancellationToken.None, out var pending));

        Assert.Null(pending);
        Assert.Equal([(ProtocolAction.Ack, 0L)], wire.Written());
        await EndAsync(egress, writer);
        Assert.False(wire.Overlapped);
    }

    [Fact]
    public async Task While_the_writer_is_writing_the_answer_is_refused_and_queued_behind_its_frame()
    {
        var wire = new RecordingWire { HoldNext = true };
        var (egress, writer) = Start(wire);
        Assert.True(egress.TryEnqueue(new EncodedFrame(new ProtocolMessage(ProtocolAction.Attached) { Channel = "chat" })));
        await Wait.Eventually("the writer is writing ATTACHED", () => wire.Written().Count == 1);

        var written = egress.TryWriteNow(Ack(0), CancellationToken.None, out _);
        if (!written)
        {
            Assert.True(egress.TryEnqueue(new EncodedFrame(Ack(0)))); // what the transport does with a refused answer
        }

        wire.Release();
        await EndAsync(egress, writer);
        Assert.False(written);
        Assert.False(wire.Overlapped);
        Assert.Equal([(ProtocolAction.Attached, 0L), (ProtocolAction.Ack, 0L)], wire.Written());
    }

    [Fact]
    public async Task A_frame_queued_while_an_answer_is_still_being_written_waits_for_it()
    {
        var wire = new RecordingWire { HoldNext = true };
        var (egress, writer) = Start(wire);
        Assert.True(egress.TryWriteNow(Ack(0), CancellationToken.None, out var pending));
        Assert.NotNull(pending);

        var writerAtWire = false;
        egress.WireHeld = () => Volatile.Write(ref writerAtWire, true);

        Assert.True(egress.TryEnqueue(Batch(1)));
        Assert.False(egress.TryWriteNow(Ack(1), CancellationToken.None, out _)); // the wire is taken
        Assert.True(egress.TryEnqueue(new EncodedFrame(Ack(1))));

        // The writer has been woken and found the wire held (or, broken, written over the held answer) before the
        // answer completes: released any earlier, a writer that did not wait would pass unnoticed.
        await Wait.Eventually("the writer reaches the wire", () => Volatile.Read(ref writerAtWire) || wire.Written().Count > 1);
        wire.Release();
        await pending!.Within();

        await EndAsync(egress, writer);
        Assert.False(wire.Overlapped);
        Assert.Equal([(ProtocolAction.Ack, 0L), (ProtocolAction.Message, 0L), (ProtocolAction.Ack, 1L)], wire.Written());
    }

    [Fact]
    public async Task A_socket_closed_mid_write_fails_the_answer_and_leaves_the_writer_free_to_end()
    {
        var wire = new RecordingWire { HoldNext = true };
        var (egress, writer) = Start(wire);
        Assert.True(egress.TryWriteNow(Ack(0), CancellationToken.None, out var pending));

        wire.Fail(new System.Net.WebSockets.WebSocketException(System.Net.WebSockets.WebSocketError.ConnectionClosedPrematurely));

        await Assert.ThrowsAsync<System.Net.WebSockets.WebSocketException>(() => pending!.Within());
        wire.FailNow = true;
        Assert.Throws<System.Net.WebSockets.WebSocketException>(() => egress.TryWriteNow(Ack(1), CancellationToken.None, out _));
        await EndAsync(egress, writer); // the failed writes gave the wire back: the writer takes it and ends
    }

    [Fact]
    public async Task Nothing_is_written_directly_once_the_queue_has_ended()
    {
        var wire = new RecordingWire();
        var (egress, writer) = Start(wire);

        await EndAsync(egress, writer);

        Assert.False(egress.TryWriteNow(Ack(0), CancellationToken.None, out _));
        Assert.Empty(wire.Written());
    }

    [Fact]
    public void Before_the_writer_starts_nothing_is_written_directly()
    {
        var egress = new ConnectionEgress(WireFormat.Json, maxQueuedBytes: 1 << 20, maxOutboundRate: 0, TimeProvider.System);

        Assert.False(egress.TryWriteNow(Ack(0), CancellationToken.None, out _));
    }

    [Fact]
    public async Task On_an_idle_connection_a_delivery_is_written_from_its_shared_frame_before_the_call_returns()
    {
        var wire = new RecordingWire();
        var (egress, writer) = Start(wire);
        var batch = Batch(1);

        Assert.True(egress.TryWriteNow(batch, CancellationToken.None, out var pending));

        Assert.Null(pending);
        Assert.Equal(["m1"], wire.MessageIds());
        Assert.True(wire.LastFrame.Equals(batch.GetFrame(WireFormat.Json))); // the same bytes, not a new encoding
        Assert.Equal(0, egress.QueuedBytes);
        await EndAsync(egress, writer);
    }

    [Fact]
    public async Task A_delivery_made_for_this_connection_alone_is_composed_from_its_messages_bytes()
    {
        var wire = new RecordingWire();
        var (egress, writer) = Start(wire);
        var batch = new MessageBatch("chat", "01-000000000002", [Message(1), Message(2)]) { ComposedFromMessages = true };

        Assert.True(egress.TryWriteNow(batch, CancellationToken.None, out _));

        await EndAsync(egress, writer);
        Assert.Equal(["m1", "m2"], wire.MessageIds());
        Assert.Equal([(ProtocolAction.Message, 0L)], wire.Written()); // one frame
    }

    [Fact]
    public async Task A_delivery_that_finds_frames_queued_is_refused_and_goes_out_behind_them()
    {
        var wire = new RecordingWire();
        var (egress, writer) = Start(wire);
        var woken = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var proceed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        egress.BeforeTakingWire = () =>
        {
            woken.TrySetResult();
            return new ValueTask(proceed.Task);
        };

        // The writer is woken for ATTACHED but has not taken the wire: the wire is free, the queue is not empty.
        Assert.True(egress.TryEnqueue(new EncodedFrame(new ProtocolMessage(ProtocolAction.Attached) { Channel = "chat" })));
        await woken.Task.Within();
        var written = egress.TryWriteNow(Batch(1), CancellationToken.None, out _);
        if (!written)
        {
            Assert.True(egress.TryEnqueue(Batch(1))); // what the transport does with a refused delivery
        }

        egress.BeforeTakingWire = null;
        proceed.SetResult();
        await EndAsync(egress, writer);
        Assert.False(written);
        Assert.Equal([(ProtocolAction.Attached, 0L), (ProtocolAction.Message, 0L)], wire.Written());
    }

    [Fact]
    public async Task Direct_and_queued_deliveries_interleaved_reach_the_socket_in_order()
    {
        var wire = new RecordingWire();
        var (egress, writer) = Start(wire);
        var writerAtWire = false;
        egress.WireHeld = () => Volatile.Write(ref writerAtWire, true);
        var direct = new List<int>();
        void Deliver(int n)
        {
            if (egress.TryWriteNow(Batch(n), CancellationToken.None, out _))
            {
                direct.Add(n);
            }
            else
            {
                Assert.True(egress.TryEnqueue(Batch(n)));
            }
        }

        Deliver(1); // idle: written directly
        wire.HoldNext = true;
        Deliver(2); // written directly, left pending by the peer: it keeps the wire
        Deliver(3); // queued behind it
        Deliver(4);
        await Wait.Eventually("the writer reaches the wire", () => Volatile.Read(ref writerAtWire) || wire.MessageIds().Count > 2);
        wire.Release();
        await Wait.Eventually("the queued deliveries are written", () => wire.MessageIds().Count == 4);
        Deliver(5);

        await EndAsync(egress, writer);
        Assert.Equal(["m1", "m2", "m3", "m4", "m5"], wire.MessageIds());
        Assert.Equal(new[] { 1, 2 }, direct.Take(2));
        Assert.DoesNotContain(3, direct);
        Assert.DoesNotContain(4, direct);
        Assert.False(wire.Overlapped);
    }

    [Fact]
    public async Task A_socket_failing_mid_delivery_faults_it_and_leaves_the_writer_free_to_end()
    {
        var wire = new RecordingWire { HoldNext = true };
        var (egress, writer) = Start(wire);
        Assert.True(egress.TryWriteNow(Batch(1), CancellationToken.None, out var pending));
        Assert.True(egress.TryEnqueue(Batch(2))); // queued behind the write in flight

        wire.Fail(new System.Net.WebSockets.WebSocketException(System.Net.WebSockets.WebSocketError.ConnectionClosedPrematurely));

        await Assert.ThrowsAsync<System.Net.WebSockets.WebSocketException>(() => pending!.Within());
        await Wait.Eventually("the writer writes what was queued", () => wire.MessageIds().Count == 2);
        await EndAsync(egress, writer); // the failed write gave the wire back: the writer takes it and ends
        Assert.False(wire.Overlapped);
    }

    [Fact]
    public async Task A_peer_not_reading_holds_up_neither_the_delivering_thread_nor_the_other_subscribers()
    {
        var slowWire = new RecordingWire { HoldNext = true };
        var (slow, slowWriter) = Start(slowWire);
        var otherWire = new RecordingWire();
        var (other, otherWriter) = Start(otherWire);
        Task? pending = null;

        // As a dispatcher hands one channel's deliveries to its subscribers, on a thread of its own.
        var dispatch = Task.Run(() =>
        {
            for (var n = 1; n <= 3; n++)
            {
                foreach (var egress in new[] { slow, other })
                {
                    if (!egress.TryWriteNow(Batch(n), CancellationToken.None, out var written))
                    {
                        Assert.True(egress.TryEnqueue(Batch(n)));
                    }

                    pending ??= written;
                }
            }
        });

        await dispatch.Within();
        Assert.Equal(["m1", "m2", "m3"], otherWire.MessageIds());
        Assert.False(pending!.IsCompleted); // the slow peer's first delivery is still being written
        Assert.Equal(["m1"], slowWire.MessageIds());

        slowWire.Release();
        await Wait.Eventually("the slow peer's writer catches up", () => slowWire.MessageIds().Count == 3);
        await EndAsync(slow, slowWriter);
        await EndAsync(other, otherWriter);
        Assert.Equal(["m1", "m2", "m3"], slowWire.MessageIds());
        Assert.False(slowWire.Overlapped);
    }

    [Fact]
    public async Task A_delivery_beyond_maxOutboundRate_is_left_to_the_writer_which_paces_it()
    {
        var time = new FakeTimeProvider();
        var wire = new RecordingWire();
        var egress = new ConnectionEgress(WireFormat.Json, maxQueuedBytes: 1 << 20, maxOutboundRate: 2, time);
        var writer = egress.WriteAllAsync(wire, CancellationToken.None);

        Assert.True(egress.TryWriteNow(Batch(1), CancellationToken.None, out _));
        Assert.True(egress.TryWriteNow(Batch(2), CancellationToken.None, out _));
        Assert.False(egress.TryWriteNow(Batch(3), CancellationToken.None, out _)); // the second's tokens are spent
        Assert.True(egress.TryEnqueue(Batch(3)));

        // The writer waits for the rate (time does not move) rather than writing it.
        await Wait.Eventually("the writer takes it from the queue", () => egress.QueuedBytes == 0);
        Assert.Equal(["m1", "m2"], wire.MessageIds());
        time.Advance(TimeSpan.FromSeconds(1));
        await EndAsync(egress, writer);
        Assert.Equal(["m1", "m2", "m3"], wire.MessageIds());
    }

    private static DeliveredMessage Message(int n) => new(new Message { Id = $"m{n}", Name = "token", Data = MessageData.FromText("t") }, n);

    private static MessageBatch Batch(int n) => new("chat", $"01-{n:D12}", [Message(n)]);

    private static ProtocolMessage Ack(long msgSerial) => new(ProtocolAction.Ack) { MsgSerial = msgSerial, Count = 1 };

    private static (ConnectionEgress Egress, Task Writer) Start(RecordingWire wire)
    {
        var egress = new ConnectionEgress(WireFormat.Json, maxQueuedBytes: 1 << 20, maxOutboundRate: 0, TimeProvider.System);
        return (egress, egress.WriteAllAsync(wire, CancellationToken.None));
    }

    private static async Task EndAsync(ConnectionEgress egress, Task writer)
    {
        egress.Complete();
        await writer.Within();
    }

    /// <summary>Decodes what is written to it; can hold a write pending (a peer not reading) and flags overlapping writes.</summary>
    private sealed class RecordingWire : IEgressWire
    {
        private readonly List<ProtocolMessage> _frames = [];
        private TaskCompletionSource? _held;
        private int _writing;

        /// <summary>The next write stays pending until <see cref="Release"/> or <see cref="Fail"/>.</summary>
        public bool HoldNext { get; set; }

        /// <summary>Every write throws at once.</summary>
        public bool FailNow { get; set; }

        public bool Overlapped { get; private set; }

        /// <summary>The bytes of the last write, as handed to the wire.</summary>
        public ReadOnlyMemory<byte> LastFrame { get; private set; }

        /// <summary>The ids of the messages written, in order, across frames.</summary>
        public List<string> MessageIds()
        {
            lock (_frames)
            {
                return _frames.SelectMany(f => f.Messages ?? []).Select(m => m.Id!).ToList();
            }
        }

        public List<(ProtocolAction Action, long MsgSerial)> Written()
        {
            lock (_frames)
            {
                return _frames.Select(f => (f.Action, f.MsgSerial ?? 0)).ToList();
            }
        }

        public void Release() => _held!.SetResult();

        public void Fail(Exception error) => _held!.SetException(error);

        public ValueTask WriteAsync(ReadOnlyMemory<byte> frame, CancellationToken cancellationToken)
        {
            if (FailNow)
            {
                throw new System.Net.WebSockets.WebSocketException(System.Net.WebSockets.WebSocketError.ConnectionClosedPrematurely);
            }

            if (Interlocked.Exchange(ref _writing, 1) != 0)
            {
                Overlapped = true;
            }

            lock (_frames)
            {
                _frames.Add(ProtocolCodecs.For(WireFormat.Json).Decode(frame));
                LastFrame = frame;
            }

            if (!HoldNext)
            {
                Volatile.Write(ref _writing, 0);
                return ValueTask.CompletedTask;
            }

            HoldNext = false;
            _held = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            return new ValueTask(EndAfterAsync(_held.Task));
        }

        public void Flush()
        {
        }

        private async Task EndAfterAsync(Task held)
        {
            try
            {
                await held;
            }
            finally
            {
                Volatile.Write(ref _writing, 0);
            }
        }
    }
}
