using System.IO.Pipelines;
using System.Net.WebSockets;
using TokenWire.Protocol;
using TokenWire.Server.Connections;
using TokenWire.Server.Hosting;
using TokenWire.Testing;

namespace TokenWire.Server.Tests.Hosting;

/// <summary>
/// The fast path's stream returns a write once its bytes are in the pipe, so the WebSocket gives the array it framed
/// them in back at once; the wait for a slow peer happens before the next frame instead.
/// </summary>
public sealed class DuplexPipeStreamTests
{
    /// <summary>The peer's side: what the server writes, with a pause threshold a test can exceed with one frame.</summary>
    private readonly Pipe _toPeer = new(new PipeOptions(pauseWriterThreshold: 1024, resumeWriterThreshold: 512, useSynchronizationContext: false));

    private readonly Pipe _fromPeer = new(new PipeOptions(useSynchronizationContext: false));

    [Fact]
    public async Task A_write_returns_before_a_slow_peer_reads_it_and_the_next_write_waits_for_it()
    {
        using var stream = new DuplexPipeStream(new Duplex(_fromPeer.Reader, _toPeer.Writer));
        Assert.True(stream.WriteAsync(new byte[2048]).IsCompletedSuccessfully); // over the pause threshold: its flush waits

        var writable = stream.WhenWritableAsync();
        var second = stream.WriteAsync(new byte[10]);
        Assert.False(writable.IsCompleted);
        Assert.False(second.IsCompleted);

        Assert.Equal(2048, await ReadAllAsync()); // the peer reads: the first flush completes
        await writable.Within();
        await second.Within();
        Assert.Equal(10, await ReadAllAsync());
        Assert.True(stream.WhenWritableAsync().IsCompletedSuccessfully);
    }

    [Fact]
    public async Task A_frame_waits_for_the_previous_one_to_be_taken_and_goes_out_whole_after_it()
    {
        using var stream = new DuplexPipeStream(new Duplex(_fromPeer.Reader, _toPeer.Writer));
        using var socket = WebSocket.CreateFromStream(stream, new WebSocketCreationOptions { IsServer = true, KeepAliveInterval = TimeSpan.Zero });
        var wire = new WebSocketWire(socket, WireFormat.Json, stream);

        Assert.True(wire.WriteAsync(new byte[2048], CancellationToken.None).IsCompletedSuccessfully);
        var next = wire.WriteAsync("{}"u8.ToArray(), CancellationToken.None);
        Assert.False(next.IsCompleted);

        Assert.Equal(2 + 2 + 2048, await ReadAllAsync()); // header with a 16-bit length, then the payload; nothing of the next
        await next.Within();
        Assert.Equal(2 + 2, await ReadAllAsync());
    }

    [Fact]
    public async Task Disposing_ends_the_wait_for_a_slow_peer_and_refuses_further_writes()
    {
        var stream = new DuplexPipeStream(new Duplex(_fromPeer.Reader, _toPeer.Writer));
        await stream.WriteAsync(new byte[2048]);
        var writable = stream.WhenWritableAsync();
        Assert.False(writable.IsCompleted);

        stream.Dispose();
        await writable.Within();
        await Assert.ThrowsAsync<ObjectDisposedException>(async () => await stream.WriteAsync(new byte[1]));
    }

    private async Task<long> ReadAllAsync()
    {
        var result = await _toPeer.Reader.ReadAsync().Within();
        var length = result.Buffer.Length;
        _toPeer.Reader.AdvanceTo(result.Buffer.End);
        return length;
    }

    private sealed class Duplex(PipeReader input, PipeWriter output) : IDuplexPipe
    {
        public PipeReader Input { get; } = input;

        public PipeWriter Output { get; } = output;
    }
}
