using System.Text;
using MessagePack;
using TokenWire.Conformance;
using TokenWire.Protocol;
using TokenWire.Server.Connections;

namespace TokenWire.Server.Tests.Connections;

public sealed class CometWireTests
{
    private static readonly TimeSpan Long = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task Everything_written_before_a_flush_goes_out_as_one_JSON_array()
    {
        var wire = new CometWire(WireFormat.Json, 1 << 20);
        await wire.WriteAsync(Encoding.UTF8.GetBytes("{\"action\":0}"), default);
        await wire.WriteAsync(Encoding.UTF8.GetBytes("{\"action\":1,\"msgSerial\":0}"), default);
        var taking = wire.TakeAsync(Long, default);
        Assert.False(taking.IsCompleted); // not before the egress says its queue is drained

        wire.Flush();

        Assert.Equal("[{\"action\":0},{\"action\":1,\"msgSerial\":0}]", Encoding.UTF8.GetString((await taking.Within())!));
    }

    [Fact]
    public async Task MessagePack_frames_go_out_as_one_MessagePack_array()
    {
        var wire = new CometWire(WireFormat.MessagePack, 1 << 20);
        var frames = Enumerable.Range(0, 20).Select(i => ProtocolCodecs.MessagePack.Encode(new ProtocolMessage(ProtocolAction.Ack) { MsgSerial = i, Count = 1 })).ToList();
        foreach (var frame in frames)
        {
            await wire.WriteAsync(frame, default);
        }

        wire.Flush();
        var body = (await wire.TakeAsync(Long, default).Within())!;

        var reader = new MessagePackReader(body);
        Assert.Equal(20, reader.ReadArrayHeader());
        var messages = CometFramesReadBack(body);
        Assert.Equal(Enumerable.Range(0, 20).Select(i => (long?)i), messages.Select(m => m.MsgSerial));
    }

    [Fact]
    public async Task A_poll_with_nothing_to_take_answers_null_after_its_wait()
    {
        var wire = new CometWire(WireFormat.Json, 1 << 20);
        Assert.Null(await wire.TakeAsync(TimeSpan.FromMilliseconds(50), default).Within());
        Assert.Equal("[]", Encoding.UTF8.GetString(wire.EmptyArray()));
    }

    [Fact]
    public async Task A_waiting_receiver_wakes_at_the_flush()
    {
        var wire = new CometWire(WireFormat.Json, 1 << 20);
        var taking = wire.TakeAsync(Long, default);
        await wire.WriteAsync("{}"u8.ToArray(), default);
        Assert.False(taking.IsCompleted);

        wire.Flush();

        Assert.Equal("[{}]", Encoding.UTF8.GetString((await taking.Within())!));
        Assert.True(wire.IsEmpty);
    }

    [Fact]
    public async Task The_writer_waits_while_a_responses_worth_is_untaken()
    {
        var wire = new CometWire(WireFormat.Json, 8);
        await wire.WriteAsync("{\"a\":1234}"u8.ToArray(), default); // past the bound: the next write waits
        var second = wire.WriteAsync("{}"u8.ToArray(), default).AsTask();
        Assert.False(second.IsCompleted);

        // Taken without a flush: the writer is held back, so the receiver must not wait for one.
        Assert.Equal("[{\"a\":1234}]", Encoding.UTF8.GetString((await wire.TakeAsync(Long, default).Within())!));
        await second.Within();
        wire.Flush();
        Assert.Equal("[{}]", Encoding.UTF8.GetString((await wire.TakeAsync(Long, default).Within())!));
    }

    [Fact]
    public async Task Completed_the_last_frames_are_taken_then_nothing()
    {
        var wire = new CometWire(WireFormat.Json, 1 << 20);
        await wire.WriteAsync("{\"action\":8}"u8.ToArray(), default);
        wire.Complete();

        Assert.Equal("[{\"action\":8}]", Encoding.UTF8.GetString((await wire.TakeAsync(Long, default).Within())!));
        Assert.Null(await wire.TakeAsync(Long, default).Within());
        await wire.WaitTakenAsync(Long, default).Within();
    }

    [Fact]
    public async Task An_abort_discards_what_is_pending_and_releases_a_waiting_writer()
    {
        var wire = new CometWire(WireFormat.Json, 4);
        await wire.WriteAsync("{\"a\":1}"u8.ToArray(), default);
        var blocked = wire.WriteAsync("{}"u8.ToArray(), default).AsTask();

        wire.Complete(discardPending: true);

        await blocked.Within();
        Assert.Null(await wire.TakeAsync(Long, default).Within());
    }

    private static List<ProtocolMessage> CometFramesReadBack(byte[] body) =>
        CometFrames.ReadArray(WireFormat.MessagePack, new System.Buffers.ReadOnlySequence<byte>(body));
}
