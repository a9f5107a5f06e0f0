using TokenWire.Protocol;
using TokenWire.Server.Connections;
using TokenWire.Server.Fanout;

namespace TokenWire.Server.Tests.Connections;

/// <summary>
/// An ACK or NACK written by the thread that answers it (<see cref="ConnectionEgress.TryWriteNow"/>) when the egress is
/// idle, and the writer's frames: one owner of the wire at a time, nothing overtaking what was queued before it.
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

        Assert.True(egress.TryEnqueue(new MessageBatch("chat", "01-000000000001", [new DeliveredMessage(new Message { Id = "m", Name = "token", Data = MessageData.FromText("t") }, 1)])));
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
    public async Task Answers_from_two_threads_written_directly_or_queued_all_go_out_in_order_and_the_writer_never_stalls()
    {
        // Every write completes asynchronously, so direct writes hold the wire while the other thread's answers are
        // queued and the writer waits for the wire: each release must wake it (a lost wake-up hangs the writer).
        var wire = new RecordingWire { CompleteAsynchronously = true };
        var (egress, writer) = Start(wire);

        async Task AnswerAsync(long first)
        {
            await Task.Yield();
            for (var serial = first; serial < first + 300; serial++)
            {
                if (!egress.TryWriteNow(Ack(serial), CancellationToken.None, out var pending))
                {
                    Assert.True(egress.TryEnqueue(new EncodedFrame(Ack(serial))));
                }
                else if (pending is not null)
                {
                    await pending;
                }
            }
        }

        await Task.WhenAll(AnswerAsync(0), AnswerAsync(1_000)).Within();
        await EndAsync(egress, writer);

        Assert.False(wire.Overlapped);
        var written = wire.Written().Select(w => w.MsgSerial).ToList();
        Assert.Equal(Enumerable.Range(0, 300).Select(i => (long)i), written.Where(s => s < 1_000));
        Assert.Equal(Enumerable.Range(1_000, 300).Select(i => (long)i), written.Where(s => s >= 1_000));
    }

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

        /// <summary>Every write completes after a yield to the thread pool, not before it returns.</summary>
        public bool CompleteAsynchronously { get; set; }

        /// <summary>Every write throws at once.</summary>
        public bool FailNow { get; set; }

        public bool Overlapped { get; private set; }

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
            }

            if (CompleteAsynchronously)
            {
                return new ValueTask(EndAfterAsync(Task.Run(static () => { })));
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
