using System.Diagnostics;
using System.Globalization;
using System.Net.WebSockets;
using System.Text;
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

/// <summary>
/// The one publishing connection. <see cref="Publish"/> runs on a dedicated thread and sends each MESSAGE when the
/// schedule says it is due: it never runs ahead of the schedule, and when a send stalls it sends what has fallen due
/// since and the delay is charged to every message's latency. ACKs are read concurrently by <see cref="ReadAcksAsync"/>.
/// </summary>
public sealed class Publisher(AblySocket socket, string channel, PublishSchedule schedule, LatencyHistogram ackLatency, LatencyHistogram sendLag)
{
    private readonly TaskCompletionSource _acked = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long _acks;

    public AblySocket Socket { get; } = socket;

    public long Sent { get; private set; }

    public long MeasuredSent { get; private set; }

    /// <summary>Stopwatch timestamp at which the last measured message was handed to the socket.</summary>
    public long LastMeasuredSend { get; private set; }

    public long Acked => Interlocked.Read(ref _acks);

    public long Nacked { get; private set; }

    public string? Failure { get; private set; }

    /// <summary>Completes when every scheduled message is ACKed, or the socket ended.</summary>
    public Task AckCompletion => _acked.Task;

    public void Publish(CancellationToken cancellationToken)
    {
        try
        {
            var serial = 0L;
            while (serial < schedule.Total && !cancellationToken.IsCancellationRequested)
            {
                var due = schedule.DueAt(serial);
                var now = Stopwatch.GetTimestamp();
                if (due > now)
                {
                    // ~1 ms granularity: enough for these rates without spinning a core away from the server.
                    Thread.Sleep(1);
                    continue;
                }

                sendLag.RecordTicks(now - due);
                var send = Socket.SendAsync(Encode(serial), cancellationToken);
                if (!send.IsCompletedSuccessfully)
                {
                    send.AsTask().GetAwaiter().GetResult();
                }

                Sent++;
                if (schedule.IsMeasured(serial))
                {
                    MeasuredSent++;
                    LastMeasuredSend = Stopwatch.GetTimestamp();
                }

                serial++;
            }
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or InvalidOperationException)
        {
            Failure ??= ex.Message;
        }
    }

    public async Task ReadAcksAsync(CancellationToken cancellationToken)
    {
        try
        {
            while (Acked + Nacked < schedule.Total)
            {
                var frame = await Socket.ReceiveFrameAsync(cancellationToken);
                var now = Stopwatch.GetTimestamp();
                if (frame.IsEmpty)
                {
                    Failure ??= "publisher socket closed by server";
                    return;
                }

                var message = Socket.Codec.Decode(frame);
                switch (message.Action)
                {
                    case ProtocolAction.Ack when message.MsgSerial is { } first:
                        for (var serial = first; serial < first + (message.Count ?? 1); serial++)
                        {
                            Interlocked.Increment(ref _acks);
                            if (schedule.IsMeasured(serial))
                            {
                                ackLatency.RecordTicks(now - schedule.DueAt(serial));
                            }
                        }

                        break;
                    case ProtocolAction.Nack:
                        Nacked += message.Count ?? 1;
                        Failure ??= $"NACK: {message.Error}";
                        break;
                    case ProtocolAction.Error or ProtocolAction.Disconnected or ProtocolAction.Closed:
                        Failure ??= $"publisher got {message.Action}: {message.Error}";
                        return;
                    default:
                        break;
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
        catch (WebSocketException ex)
        {
            Failure ??= ex.Message;
        }
        finally
        {
            _acked.TrySetResult();
        }
    }

    private byte[] Encode(long serial)
    {
        var sentAt = schedule.DueAtUtc(serial).Ticks.ToString(CultureInfo.InvariantCulture);
        var extras = $$$"""{"headers":{"responseId":"{{{Payload.ResponseId}}}","sentAt":"{{{sentAt}}}"}}""";
        return Socket.Codec.Encode(new ProtocolMessage(ProtocolAction.Message)
        {
            Channel = channel,
            MsgSerial = serial,
            Messages =
            [
                new Message
                {
                    Name = Payload.Name,
                    Data = MessageData.FromText(Payload.Data),
                    Encoding = Payload.Encoding,
                    Extras = new JsonPayload(Encoding.UTF8.GetBytes(extras)),
                },
            ],
        });
    }
}
