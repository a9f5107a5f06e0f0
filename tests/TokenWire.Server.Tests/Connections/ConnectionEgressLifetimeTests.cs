using System.Runtime.CompilerServices;
using TokenWire.Protocol;
using TokenWire.Server.Connections;
using TokenWire.Server.Fanout;

namespace TokenWire.Server.Tests.Connections;

/// <summary>
/// What a connection's writer keeps while it waits: nothing it has written. Its loop lives as long as the connection,
/// so anything it still referenced would be promoted by every collection meanwhile, once per subscriber.
/// </summary>
public sealed class ConnectionEgressLifetimeTests
{
    [Fact]
    public async Task A_writer_waiting_for_more_keeps_no_reference_to_the_batch_or_frame_it_last_wrote()
    {
        var wire = new CountingWire();
        var egress = new ConnectionEgress(WireFormat.Json, maxQueuedBytes: 1 << 20, maxOutboundRate: 0, TimeProvider.System);
        var writer = egress.WriteAllAsync(wire, CancellationToken.None);
        var (frame, batch) = EnqueueFrameThenBatch(egress);
        await Wait.Eventually("both written", () => wire.Count == 2);

        await Wait.Eventually("the written batch and frame collected while the writer waits", () =>
        {
            GC.Collect();
            return !batch.IsAlive && !frame.IsAlive;
        });
        Assert.False(writer.IsCompleted);
        egress.Complete();
        await writer.Within();
    }

    /// <summary>Not inlined, so no local of the test itself keeps them alive.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static (WeakReference Frame, WeakReference Batch) EnqueueFrameThenBatch(ConnectionEgress egress)
    {
        var batch = new MessageBatch("chat", "01-000000000001", [new DeliveredMessage(new Message { Name = "m", Data = MessageData.FromText("m") }, 1)]);
        var frame = new EncodedFrame(new ProtocolMessage(ProtocolAction.Heartbeat));
        Assert.True(egress.TryEnqueue(frame));
        Assert.True(egress.TryEnqueue(batch));
        return (new WeakReference(frame), new WeakReference(batch));
    }

    /// <summary>Counts writes and keeps nothing of them.</summary>
    private sealed class CountingWire : IEgressWire
    {
        private int _count;

        public int Count => Volatile.Read(ref _count);

        public ValueTask WriteAsync(ReadOnlyMemory<byte> frame, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref _count);
            return ValueTask.CompletedTask;
        }

        public void Flush()
        {
        }
    }
}
