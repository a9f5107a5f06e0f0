using System.Buffers;
using System.Collections.Concurrent;
using System.Net.WebSockets;
using System.Text;
using System.Threading.Channels;

namespace TokenWire.RawFanout;

/// <summary>
/// Channels by name, each with its current subscribers. A publisher's socket is read one message at a time; each
/// message is copied once into an array shared by every subscriber's queue (as TokenWire shares one encoded frame).
/// A publisher that asked for acknowledgements (<c>ack=1</c>) gets one <see cref="AckFrame"/> per message once it is
/// fanned out, written by its read loop: the socket call TokenWire's ACK costs, with no protocol around it.
/// </summary>
public sealed partial class FanoutHub(int queueFrames, ILogger<FanoutHub> logger)
{
    /// <summary>Largest message a publisher may send; a longer one closes its socket (1009).</summary>
    private const int MaxMessageBytes = 64 * 1024;

    private const int MaxChannelNameLength = 256;

    private readonly ConcurrentDictionary<string, FanoutChannel> _channels = new(StringComparer.Ordinal);

    public async Task HandleAsync(HttpContext context)
    {
        var role = context.Request.Query["role"].ToString();
        var name = context.Request.Query["channel"].ToString();
        var ack = context.Request.Query["ack"].ToString();
        if (!context.WebSockets.IsWebSocketRequest || role is not ("pub" or "sub") || name.Length is 0 or > MaxChannelNameLength
            || ack is not ("" or "0" or "1") || (ack == "1" && role != "pub"))
        {
            context.Response.StatusCode = StatusCodes.Status400BadRequest;
            await context.Response.WriteAsync("expected a WebSocket upgrade of /?role=pub|sub&channel=NAME (&ack=1 for a publisher)\n");
            return;
        }

        var channel = _channels.GetOrAdd(name, static _ => new FanoutChannel());
        if (role == "pub")
        {
            using var socket = await context.WebSockets.AcceptWebSocketAsync();
            await PublishLoopAsync(socket, channel, ack == "1" ? new AckFrame() : null, context.RequestAborted);
            return;
        }

        // Subscribed before the upgrade completes: once the client's handshake returns, it gets every later message.
        var subscriber = new FanoutSubscriber(queueFrames);
        channel.Add(subscriber);
        try
        {
            using var socket = await context.WebSockets.AcceptWebSocketAsync();
            await subscriber.RunAsync(socket, context.RequestAborted);
        }
        finally
        {
            channel.Remove(subscriber);
        }
    }

    private async Task PublishLoopAsync(WebSocket socket, FanoutChannel channel, AckFrame? ack, CancellationToken cancellationToken)
    {
        var buffer = new ArrayBufferWriter<byte>(4096);
        try
        {
            while (true)
            {
                buffer.ResetWrittenCount();
                ValueWebSocketReceiveResult result;
                do
                {
                    result = await socket.ReceiveAsync(buffer.GetMemory(4096), cancellationToken);
                    if (result.MessageType == WebSocketMessageType.Close)
                    {
                        await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, cancellationToken);
                        return;
                    }

                    buffer.Advance(result.Count);
                    if (buffer.WrittenCount > MaxMessageBytes)
                    {
                        await socket.CloseOutputAsync(WebSocketCloseStatus.MessageTooBig, null, cancellationToken);
                        return;
                    }
                }
                while (!result.EndOfMessage);

                var frame = new OutboundFrame(buffer.WrittenSpan.ToArray(), result.MessageType);
                foreach (var subscriber in channel.Subscribers)
                {
                    if (!subscriber.TryEnqueue(frame))
                    {
                        SlowConsumer(logger, queueFrames);
                    }
                }

                if (ack is not null)
                {
                    // Only this loop writes to a publisher's socket, so the send needs no queue and the frame's buffer
                    // is free again once it completes.
                    await socket.SendAsync(ack.Next(), WebSocketMessageType.Text, endOfMessage: true, cancellationToken);
                }
            }
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException)
        {
            // The publisher went away.
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Slow consumer: outbound queue full ({Frames} frames); subscriber disconnected")]
    private static partial void SlowConsumer(ILogger logger, int frames);
}

/// <summary>
/// A publisher's acknowledgements: <c>{"ack":N,"pad":"…"}</c>, N the count of messages read before this one on the
/// socket (the publisher's <c>seq</c> as bench/TokenWire.LoadTest numbers them, from 0), space-padded to 7 digits as
/// its payload's seq is, and padded to <see cref="Length"/> bytes: 93 on the wire with the 2-byte frame header, the
/// size of TokenWire's JSON ACK for one message (its MessagePack ACK is ≈ 20 B smaller). One buffer per publisher,
/// rewritten in place, so an ACK allocates nothing.
/// </summary>
public sealed class AckFrame
{
    public const int Length = 91;

    private const int Digits = 7;
    private static readonly byte[] Template = BuildTemplate();
    private readonly byte[] _frame = (byte[])Template.Clone();
    private long _next;

    /// <summary>The next message's acknowledgement; valid until the following call.</summary>
    public ReadOnlyMemory<byte> Next()
    {
        // Right-aligned after {"ack":, as valid JSON; past 9,999,999 messages only the last 7 digits are kept.
        var n = _next++;
        const int start = 7; // {"ack":
        for (var i = start + Digits - 1; i >= start; i--)
        {
            _frame[i] = n == 0 && i != start + Digits - 1 ? (byte)' ' : (byte)('0' + (n % 10));
            n /= 10;
        }

        return _frame;
    }

    private static byte[] BuildTemplate()
    {
        var head = "{\"ack\":" + new string('0', Digits) + ",\"pad\":\"";
        return Encoding.ASCII.GetBytes(head + new string('.', Length - head.Length - 2) + "\"}");
    }
}

/// <summary>One published message: the publisher's bytes and frame type, shared by every subscriber's queue.</summary>
public readonly record struct OutboundFrame(byte[] Payload, WebSocketMessageType Type);

/// <summary>A channel's subscribers, as an array replaced on every change so publishers read it without a lock.</summary>
public sealed class FanoutChannel
{
    private readonly Lock _gate = new();
    private volatile FanoutSubscriber[] _subscribers = [];

    public FanoutSubscriber[] Subscribers => _subscribers;

    public void Add(FanoutSubscriber subscriber)
    {
        lock (_gate)
        {
            _subscribers = [.. _subscribers, subscriber];
        }
    }

    public void Remove(FanoutSubscriber subscriber)
    {
        lock (_gate)
        {
            _subscribers = Array.FindAll(_subscribers, s => s != subscriber);
        }
    }
}

/// <summary>
/// One subscriber socket: a bounded queue drained by one writer loop, one <c>SendAsync</c> per frame. A full queue
/// disconnects the subscriber (as TokenWire does); its read side only watches for the client closing.
/// </summary>
public sealed class FanoutSubscriber(int queueFrames)
{
    private readonly Channel<OutboundFrame> _queue = Channel.CreateBounded<OutboundFrame>(new BoundedChannelOptions(queueFrames)
    {
        SingleReader = true,
        FullMode = BoundedChannelFullMode.Wait,
    });

    private readonly CancellationTokenSource _stop = new();
    private WebSocket? _socket;

    /// <summary>False when the queue was full: the subscriber is then aborted.</summary>
    public bool TryEnqueue(OutboundFrame frame)
    {
        if (_queue.Writer.TryWrite(frame))
        {
            return true;
        }

        if (_stop.IsCancellationRequested)
        {
            return true; // Already ending.
        }

        _queue.Writer.TryComplete();
        _stop.Cancel();
        _socket?.Abort();
        return false;
    }

    public async Task RunAsync(WebSocket socket, CancellationToken requestAborted)
    {
        _socket = socket;
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(requestAborted, _stop.Token);
        var writer = WriteLoopAsync(socket, linked.Token);
        try
        {
            var discard = new byte[256];
            while (!linked.IsCancellationRequested)
            {
                var result = await socket.ReceiveAsync(discard.AsMemory(), linked.Token);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    break;
                }
            }
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException)
        {
        }
        finally
        {
            _queue.Writer.TryComplete();
            await _stop.CancelAsync();
            await writer;
            socket.Abort();
        }
    }

    private async Task WriteLoopAsync(WebSocket socket, CancellationToken cancellationToken)
    {
        try
        {
            var reader = _queue.Reader;
            while (await reader.WaitToReadAsync(cancellationToken))
            {
                while (reader.TryRead(out var frame))
                {
                    await socket.SendAsync(frame.Payload, frame.Type, endOfMessage: true, cancellationToken);
                }
            }
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or ObjectDisposedException)
        {
        }
    }
}
