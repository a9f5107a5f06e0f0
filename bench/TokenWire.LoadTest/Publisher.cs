using System.Diagnostics;
using System.Net.WebSockets;

namespace TokenWire.LoadTest;

/// <summary>
/// The publishing connections, one per stream. <see cref="Publish"/> runs on one dedicated thread and sends each
/// message on its stream's socket when the schedule says it is due: it never runs ahead of the schedule, and when a
/// send stalls it sends what has fallen due since and the delay is charged to every message's latency. Each socket's
/// replies (ACK/NACK for TokenWire, acknowledgements from the raw-ack baseline, nothing from the plain raw fan-out)
/// are read by <see cref="ReadAsync"/>.
/// </summary>
public sealed class Publisher
{
    private readonly TargetClient _client;
    private readonly FrameSocket[] _sockets;
    private readonly string[] _channels;
    private readonly PublishSchedule _schedule;
    private readonly LatencyHistogram _ackLatency;
    private readonly LatencyHistogram _sendLag;
    private readonly TaskCompletionSource _acked = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private volatile bool _publishing = true;
    private int _streamsPending;
    private long _acks;
    private long _nacks;
    private string? _failure;

    public Publisher(TargetClient client, FrameSocket[] sockets, string[] channels, PublishSchedule schedule, LatencyHistogram ackLatency, LatencyHistogram sendLag)
    {
        _client = client;
        _sockets = sockets;
        _channels = channels;
        _schedule = schedule;
        _ackLatency = ackLatency;
        _sendLag = sendLag;
        _streamsPending = sockets.Length;
        if (!client.HasAcks)
        {
            _acked.TrySetResult();
        }
    }

    public IReadOnlyList<FrameSocket> Sockets => _sockets;

    public long Sent { get; private set; }

    public long MeasuredSent { get; private set; }

    /// <summary>Stopwatch timestamp at which the last measured message was handed to its socket.</summary>
    public long LastMeasuredSend { get; private set; }

    public long Acked => Interlocked.Read(ref _acks);

    public long Nacked => Interlocked.Read(ref _nacks);

    public string? Failure => Volatile.Read(ref _failure);

    /// <summary>Completes when every scheduled message is ACKed or its socket ended; at once for a target without ACKs.</summary>
    public Task AckCompletion => _acked.Task;

    public void Publish(CancellationToken cancellationToken)
    {
        try
        {
            var streams = _schedule.Streams;
            for (var slot = 0L; slot < _schedule.Total && !cancellationToken.IsCancellationRequested;)
            {
                var stream = (int)(slot % streams);
                var serial = slot / streams;
                var due = _schedule.DueAt(stream, serial);
                var now = Stopwatch.GetTimestamp();
                if (due > now)
                {
                    // ~1 ms granularity: enough for these rates without spinning a core away from the server.
                    Thread.Sleep(1);
                    continue;
                }

                _sendLag.RecordTicks(now - due);
                var send = _sockets[stream].SendAsync(_client.EncodePublish(_channels[stream], serial, _schedule.DueAtUtc(stream, serial)), cancellationToken);
                if (!send.IsCompletedSuccessfully)
                {
                    send.AsTask().GetAwaiter().GetResult();
                }

                Sent++;
                if (_schedule.IsMeasured(serial))
                {
                    MeasuredSent++;
                    LastMeasuredSend = Stopwatch.GetTimestamp();
                }

                slot++;
            }
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or InvalidOperationException or ObjectDisposedException)
        {
            // ObjectDisposedException: the run gave up on this scenario (its time budget) and closed the sockets.
            Fail(ex.Message);
        }
        finally
        {
            _publishing = false;
        }
    }

    /// <summary>Reads stream <paramref name="stream"/>'s socket: its ACKs until all are in, or (raw) until it closes.</summary>
    public async Task ReadAsync(int stream, CancellationToken cancellationToken)
    {
        var socket = _sockets[stream];
        long done = 0;
        try
        {
            while (!_client.HasAcks || done < _schedule.PerStream)
            {
                var frame = await socket.ReceiveFrameAsync(cancellationToken);
                var now = Stopwatch.GetTimestamp();
                if (frame.IsEmpty)
                {
                    if (_publishing || _client.HasAcks)
                    {
                        Fail("publisher socket closed by server");
                    }

                    return;
                }

                var reply = _client.ReadReply(frame);
                switch (reply.Kind)
                {
                    case PublisherReplyKind.Ack:
                        for (var serial = reply.FirstSerial; serial < reply.FirstSerial + reply.Count; serial++)
                        {
                            if (_schedule.IsMeasured(serial))
                            {
                                _ackLatency.RecordTicks(now - _schedule.DueAt(stream, serial));
                            }
                        }

                        done += reply.Count;
                        Interlocked.Add(ref _acks, reply.Count);
                        break;
                    case PublisherReplyKind.Nack:
                        done += reply.Count;
                        Interlocked.Add(ref _nacks, reply.Count);
                        Fail(reply.Error);
                        break;
                    case PublisherReplyKind.End:
                        Fail(reply.Error);
                        return;
                    default:
                        break;
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
        catch (ObjectDisposedException) when (cancellationToken.IsCancellationRequested)
        {
            // Stopped: the run closes every socket once the loops are cancelled, and a busy loop may see that first.
        }
        catch (WebSocketException ex)
        {
            if (!cancellationToken.IsCancellationRequested)
            {
                Fail(ex.Message);
            }
        }
        finally
        {
            if (Interlocked.Decrement(ref _streamsPending) == 0)
            {
                _acked.TrySetResult();
            }
        }
    }

    private void Fail(string? reason) => Interlocked.CompareExchange(ref _failure, reason ?? "failed", null);
}
