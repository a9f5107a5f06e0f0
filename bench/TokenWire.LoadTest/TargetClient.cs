using System.Buffers;
using System.Buffers.Text;
using System.Globalization;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using TokenWire.Protocol;

namespace TokenWire.LoadTest;

/// <summary>The published message, as an AI token stream would send it.</summary>
public static class Payload
{
    public const string Name = "token";
    public const string Data = """{"token":"abc"}""";
    public const string Encoding = "json";
    public const string ResponseId = "r1";
}

/// <summary>What one received message was, for a subscriber.</summary>
public enum FrameKind
{
    /// <summary>Not a delivery (HEARTBEAT and the like).</summary>
    Other,

    /// <summary>One or more published messages; their numbers were appended to the list.</summary>
    Delivery,

    /// <summary>The server ended the subscription (ERROR, DISCONNECTED, DETACHED, CLOSED).</summary>
    End,
}

/// <summary>Reads one received message: appends each delivered message's number (its publisher's msgSerial or seq; -1 when unreadable).</summary>
public delegate FrameKind DeliveryScanner(ReadOnlyMemory<byte> frame, List<long> serials, ref long payloadErrors, out string? endReason);

/// <summary>What the server sent a publisher.</summary>
public readonly record struct PublisherReply(PublisherReplyKind Kind, long FirstSerial = 0, int Count = 0, string? Error = null);

public enum PublisherReplyKind
{
    Other,
    Ack,
    Nack,
    End,
}

/// <summary>
/// How the load generator talks to one kind of server: connect a subscriber or a publisher for a stream's channel,
/// encode a publish, read a delivery and a publisher's replies. The measurement around it (schedule, order check,
/// latency, CPU, bytes) is the same for every target.
/// </summary>
public abstract class TargetClient
{
    /// <summary>Whether the server acknowledges each publish (Ably ACK/NACK; the raw fan-out only when asked, raw-ack).</summary>
    public abstract bool HasAcks { get; }

    /// <summary>Sent before closing a connection to a server this tool did not start (Ably CLOSE), or empty.</summary>
    public abstract ReadOnlyMemory<byte> Goodbye { get; }

    public static TargetClient For(Scenario scenario, string key, DecodeMode mode) =>
        scenario.IsRaw ? new RawTargetClient(mode, acks: scenario.Target == Target.RawAck) : new AblyTargetClient(scenario.Format, key, mode);

    /// <summary>Connects, and returns once the subscription is in place: every message published after this arrives.</summary>
    public abstract Task<FrameSocket> ConnectSubscriberAsync(Uri server, string channel, CancellationToken cancellationToken);

    public abstract Task<FrameSocket> ConnectPublisherAsync(Uri server, string channel, CancellationToken cancellationToken);

    /// <summary>
    /// A stream's message <paramref name="serial"/> for <paramref name="channel"/>, carrying its scheduled send time;
    /// valid until the next call. Written into a buffer the client keeps, as every publish is: the tool's own
    /// allocation (and so its own GC pauses, which delay what it sends and reads) must not differ by target.
    /// </summary>
    public abstract ReadOnlyMemory<byte> EncodePublish(string channel, long serial, DateTime dueUtc);

    /// <summary>A subscriber's reader for one stream (with <see cref="DecodeMode.Full"/> it checks the payload against the schedule).</summary>
    public abstract DeliveryScanner CreateScanner(int stream, PublishSchedule schedule);

    public abstract PublisherReply ReadReply(ReadOnlyMemory<byte> frame);
}

/// <summary>TokenWire over Ably protocol v6: CONNECTED, ATTACH/ATTACHED, MESSAGE with msgSerial, ACK/NACK.</summary>
public sealed class AblyTargetClient(WireFormat format, string key, DecodeMode mode) : TargetClient
{
    private readonly IProtocolCodec _codec = ProtocolCodecs.For(format);

    public override bool HasAcks => true;

    public override ReadOnlyMemory<byte> Goodbye => _codec.Encode(new ProtocolMessage(ProtocolAction.Close));

    public override async Task<FrameSocket> ConnectSubscriberAsync(Uri server, string channel, CancellationToken cancellationToken)
    {
        var socket = await AblySocket.ConnectAsync(server, key, format, cancellationToken);
        try
        {
            await socket.AttachAsync(channel, cancellationToken);
            return socket.Frames;
        }
        catch
        {
            socket.Frames.Dispose();
            throw;
        }
    }

    public override async Task<FrameSocket> ConnectPublisherAsync(Uri server, string channel, CancellationToken cancellationToken) =>
        (await AblySocket.ConnectAsync(server, key, format, cancellationToken)).Frames;

    /// <summary>The publish's extras, <c>{"headers":{"responseId":"r1","sentAt":"TICKS"}}</c>: ticks are 18 digits for
    /// centuries yet, so each publish writes its own into the same bytes.</summary>
    private readonly byte[] _extras = Encoding.UTF8.GetBytes($$$"""{"headers":{"responseId":"{{{Payload.ResponseId}}}","sentAt":"{{{new string('0', SentAtDigits)}}}"}}""");
    private const int SentAtDigits = 18;
    private readonly ArrayBufferWriter<byte> _publish = new(1024);
    private ProtocolMessage? _publishMessage;

    public override ReadOnlyMemory<byte> EncodePublish(string channel, long serial, DateTime dueUtc)
    {
        // One message object, changed in place: the publisher's single thread sends each before it encodes the next.
        var message = _publishMessage ??= new ProtocolMessage(ProtocolAction.Message)
        {
            Messages =
            [
                new Message
                {
                    Name = Payload.Name,
                    Data = MessageData.FromText(Payload.Data),
                    Encoding = Payload.Encoding,
                    Extras = new JsonPayload(_extras),
                },
            ],
        };
        message.Channel = channel;
        message.MsgSerial = serial;
        var digits = _extras.AsSpan(_extras.Length - SentAtDigits - 3, SentAtDigits);
        if (!Utf8Formatter.TryFormat(dueUtc.Ticks, digits, out var written, new StandardFormat('D', SentAtDigits)) || written != SentAtDigits)
        {
            throw new InvalidOperationException($"sentAt {dueUtc.Ticks} is not {SentAtDigits} digits");
        }

        _publish.ResetWrittenCount();
        _codec.Write(message, _publish);
        return _publish.WrittenMemory;
    }

    public override DeliveryScanner CreateScanner(int stream, PublishSchedule schedule) =>
        (ReadOnlyMemory<byte> frame, List<long> serials, ref long payloadErrors, out string? endReason) =>
        {
            endReason = null;
            var action = FrameScanner.Scan(format, mode, frame, serials, ref payloadErrors);
            switch (action)
            {
                case ProtocolAction.Message:
                    return FrameKind.Delivery;
                case ProtocolAction.Error or ProtocolAction.Disconnected or ProtocolAction.Detached or ProtocolAction.Closed:
                    endReason = $"server sent {action}";
                    return FrameKind.End;
                default:
                    return FrameKind.Other;
            }
        };

    public override PublisherReply ReadReply(ReadOnlyMemory<byte> frame)
    {
        // The common reply, scanned without decoding (as raw-ack's is); anything else is decoded whole.
        if (FrameScanner.TryScanAck(format, frame, out var firstSerial, out var count))
        {
            return new PublisherReply(PublisherReplyKind.Ack, firstSerial, count);
        }

        var message = _codec.Decode(frame);
        return message.Action switch
        {
            ProtocolAction.Ack when message.MsgSerial is { } first => new PublisherReply(PublisherReplyKind.Ack, first, message.Count ?? 1),
            ProtocolAction.Nack => new PublisherReply(PublisherReplyKind.Nack, message.MsgSerial ?? 0, message.Count ?? 1, $"NACK: {message.Error}"),
            ProtocolAction.Error or ProtocolAction.Disconnected or ProtocolAction.Closed => new PublisherReply(PublisherReplyKind.End, Error: $"publisher got {message.Action}: {message.Error}"),
            _ => new PublisherReply(PublisherReplyKind.Other),
        };
    }
}

/// <summary>
/// bench/TokenWire.RawFanout: <c>/?role=sub|pub&amp;channel=NAME</c>; every message a publisher sends reaches each
/// subscriber as the same bytes. The payload is <see cref="RawPayload"/>: the token, the message number and the
/// scheduled send time, so order and latency are checked exactly as for TokenWire. With <paramref name="acks"/> the
/// publishers connect with <c>&amp;ack=1</c> and read one <see cref="RawAck"/> per message, as an Ably publisher reads its ACKs.
/// </summary>
public sealed class RawTargetClient(DecodeMode mode, bool acks) : TargetClient
{
    public override bool HasAcks => acks;

    public override ReadOnlyMemory<byte> Goodbye => ReadOnlyMemory<byte>.Empty;

    public override Task<FrameSocket> ConnectSubscriberAsync(Uri server, string channel, CancellationToken cancellationToken) =>
        // The server subscribes the socket before it completes the upgrade: once connected, it receives every later message.
        FrameSocket.ConnectAsync(Endpoint(server, "sub", channel), WebSocketMessageType.Text, cancellationToken);

    public override Task<FrameSocket> ConnectPublisherAsync(Uri server, string channel, CancellationToken cancellationToken) =>
        FrameSocket.ConnectAsync(Endpoint(server, acks ? "pub&ack=1" : "pub", channel), WebSocketMessageType.Text, cancellationToken);

    private readonly byte[] _publish = new byte[RawPayload.Length];

    public override ReadOnlyMemory<byte> EncodePublish(string channel, long serial, DateTime dueUtc)
    {
        RawPayload.Write(serial, dueUtc.Ticks, _publish);
        return _publish;
    }

    public override DeliveryScanner CreateScanner(int stream, PublishSchedule schedule) =>
        (ReadOnlyMemory<byte> frame, List<long> serials, ref long payloadErrors, out string? endReason) =>
        {
            endReason = null;
            if (!RawPayload.TryRead(frame.Span, out var serial, out var sentAtTicks))
            {
                serials.Add(-1);
            }
            else
            {
                serials.Add(serial);
                if (mode == DecodeMode.Full && (frame.Length != RawPayload.Length || sentAtTicks != schedule.DueAtUtc(stream, serial).Ticks))
                {
                    payloadErrors++;
                }
            }

            return FrameKind.Delivery;
        };

    /// <summary>An acknowledgement of one message; anything else from the server is a protocol failure of the run.</summary>
    public override PublisherReply ReadReply(ReadOnlyMemory<byte> frame) => !acks
        ? new(PublisherReplyKind.Other)
        : RawAck.TryRead(frame.Span, out var seq)
            ? new(PublisherReplyKind.Ack, seq, 1)
            : new(PublisherReplyKind.End, Error: $"publisher got an unreadable acknowledgement ({frame.Length} B)");

    private static Uri Endpoint(Uri server, string role, string channel) => new UriBuilder(server)
    {
        Scheme = "ws",
        Path = "/",
        Query = $"role={role}&channel={Uri.EscapeDataString(channel)}",
    }.Uri;
}

/// <summary>
/// The raw-ack baseline's acknowledgement, as bench/TokenWire.RawFanout writes it: a JSON object whose <c>ack</c> is
/// the number of the message acknowledged (its <c>seq</c>); the rest is padding to the size of TokenWire's ACK.
/// </summary>
public static class RawAck
{
    /// <summary>Reads <c>ack</c> (any layout, other members skipped); false when it is not such an object.</summary>
    public static bool TryRead(ReadOnlySpan<byte> frame, out long seq)
    {
        seq = -1;
        try
        {
            var reader = new Utf8JsonReader(frame);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return false;
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var isAck = reader.ValueTextEquals("ack"u8);
                reader.Read();
                if (isAck)
                {
                    seq = reader.GetInt64();
                }
                else
                {
                    reader.Skip();
                }
            }

            return seq >= 0;
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException or FormatException)
        {
            return false;
        }
    }
}

/// <summary>
/// The raw baseline's message: a fixed 57-byte JSON text, <c>{"token":"abc","seq":NNNNNNN,"sentAt":TTTTTTTTTTTTTTTTTT}</c>,
/// with seq space-padded to 7 characters (valid JSON) and sentAt the scheduled send time in .NET ticks (UTC) — the
/// token TokenWire's message carries, its msgSerial and its <c>sentAt</c> header, without the protocol around them.
/// </summary>
public static class RawPayload
{
    public const int Length = 57;

    /// <summary>Writes the message into <paramref name="destination"/> (<see cref="Length"/> bytes).</summary>
    public static void Write(long seq, long sentAtTicks, Span<byte> destination)
    {
        if (!System.Text.Unicode.Utf8.TryWrite(destination, CultureInfo.InvariantCulture, $$"""{"token":"abc","seq":{{seq,7}},"sentAt":{{sentAtTicks,18}}}""", out var written) || written != Length)
        {
            throw new InvalidOperationException($"seq {seq} or sentAt {sentAtTicks} does not fit the {Length}-byte message");
        }
    }

    /// <summary>Parses the JSON (any layout); false when it is not such an object.</summary>
    public static bool TryRead(ReadOnlySpan<byte> payload, out long seq, out long sentAtTicks)
    {
        seq = -1;
        sentAtTicks = -1;
        var tokenOk = false;
        try
        {
            var reader = new Utf8JsonReader(payload);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return false;
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("seq"u8))
                {
                    reader.Read();
                    seq = reader.GetInt64();
                }
                else if (reader.ValueTextEquals("sentAt"u8))
                {
                    reader.Read();
                    sentAtTicks = reader.GetInt64();
                }
                else if (reader.ValueTextEquals("token"u8))
                {
                    reader.Read();
                    tokenOk = reader.TokenType == JsonTokenType.String && reader.ValueTextEquals("abc"u8);
                }
                else
                {
                    reader.Read();
                    reader.Skip();
                }
            }

            return tokenOk && seq >= 0 && sentAtTicks > 0;
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException or FormatException)
        {
            return false;
        }
    }
}
