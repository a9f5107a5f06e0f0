using System.Diagnostics;
using System.Net.WebSockets;

namespace TokenWire.LoadTest;

/// <summary>
/// One subscriber of one stream: reads its socket until the stream's last message has arrived, checking that message
/// numbers arrive as 0, 1, 2… and recording each measured message's publish→deliver latency into the scenario's
/// shared histogram. A number that skips ahead opens a gap; a gap's numbers that arrive later count as reordered, and
/// any other number at or below one already seen as a duplicate; what never arrives is lost.
/// </summary>
public sealed class Subscriber(FrameSocket socket, DeliveryScanner scanner, int stream, PublishSchedule schedule, LatencyHistogram latency)
{
    private readonly List<long> _serials = new(4);
    private readonly TaskCompletionSource _done = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Numbers skipped by a gap and not yet arrived, as [From, To) ranges; empty unless something went wrong.</summary>
    private readonly List<(long From, long To)> _skipped = [];
    private long _next;
    private long _payloadErrors;
    private long _wireBytesAtStart;

    public FrameSocket Socket { get; } = socket;

    /// <summary>Completes when the stream's last message has arrived or the socket ended.</summary>
    public Task Completion => _done.Task;

    /// <summary>Distinct messages delivered (in order or late).</summary>
    public long Delivered { get; private set; }

    public long MeasuredDelivered { get; private set; }

    /// <summary>Deliveries that arrived during the measured window (what the server's CPU over that window paid for).</summary>
    public long WindowDelivered { get; private set; }

    /// <summary>Stopwatch timestamp of the latest measured delivery.</summary>
    public long LastMeasuredDelivery { get; private set; }

    /// <summary>Messages that arrived after a later one (a gap filled late).</summary>
    public long Reordered { get; private set; }

    /// <summary>Messages that arrived again.</summary>
    public long Duplicates { get; private set; }

    /// <summary>Messages whose number (or, with full decoding, payload) was not what was published.</summary>
    public long PayloadErrors => _payloadErrors;

    /// <summary>Scheduled messages that never arrived.</summary>
    public long Lost => schedule.PerStream - Delivered;

    /// <summary>Bytes received while subscribed (deliveries, heartbeats; not the handshake), frame headers included.</summary>
    public long WireBytes => Socket.WireBytesReceived - _wireBytesAtStart;

    /// <summary>Why the socket ended before all messages arrived, if it did.</summary>
    public string? EndedEarly { get; private set; }

    /// <summary>Stopwatch timestamp at which the socket ended early, or 0.</summary>
    public long EndedAt { get; private set; }

    /// <summary>Reads at a fraction of the stream's pace (<c>--slow</c>); reported apart from the others.</summary>
    public bool IsSlow { get; private set; }

    /// <summary>From now on, read at most <paramref name="fraction"/> of the bytes <paramref name="pace"/> (a normal subscriber of the same stream) has read.</summary>
    public void ReadSlowly(Subscriber pace, double fraction)
    {
        IsSlow = true;
        var start = pace.Socket.WireBytesReceived;
        Socket.ThrottleReads(() => (long)(fraction * (pace.Socket.WireBytesReceived - start)));
    }

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        _wireBytesAtStart = Socket.WireBytesReceived;
        try
        {
            while (_next < schedule.PerStream)
            {
                var frame = await Socket.ReceiveFrameAsync(cancellationToken);
                var now = Stopwatch.GetTimestamp();
                if (frame.IsEmpty)
                {
                    End("closed by server");
                    return;
                }

                _serials.Clear();
                switch (scanner(frame, _serials, ref _payloadErrors, out var endReason))
                {
                    case FrameKind.Delivery:
                        foreach (var serial in _serials)
                        {
                            OnMessage(serial, now);
                        }

                        break;
                    case FrameKind.End:
                        End(endReason);
                        return;
                    default:
                        break; // HEARTBEAT and anything else: not a delivery.
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
            End(ex.Message);
        }
        finally
        {
            _done.TrySetResult();
        }
    }

    private void End(string? reason)
    {
        EndedEarly = reason ?? "ended";
        EndedAt = Stopwatch.GetTimestamp();
    }

    private void OnMessage(long serial, long now)
    {
        if (serial < 0 || serial >= schedule.PerStream)
        {
            _payloadErrors++;
            return;
        }

        if (serial > _next)
        {
            _skipped.Add((_next, serial));
        }
        else if (serial < _next)
        {
            if (!FillGap(serial))
            {
                Duplicates++;
                return;
            }

            Reordered++;
        }

        _next = Math.Max(_next, serial + 1);
        Delivered++;
        if (now >= schedule.WindowStart && now < schedule.WindowEnd)
        {
            WindowDelivered++;
        }

        if (schedule.IsMeasured(serial))
        {
            MeasuredDelivered++;
            LastMeasuredDelivery = Math.Max(LastMeasuredDelivery, now);
            latency.RecordTicks(now - schedule.DueAt(stream, serial));
        }
    }

    /// <summary>Takes <paramref name="serial"/> out of the skipped ranges; false when it was not skipped (a duplicate).</summary>
    private bool FillGap(long serial)
    {
        for (var i = 0; i < _skipped.Count; i++)
        {
            var (from, to) = _skipped[i];
            if (serial < from || serial >= to)
            {
                continue;
            }

            _skipped.RemoveAt(i);
            if (serial + 1 < to)
            {
                _skipped.Insert(i, (serial + 1, to));
            }

            if (from < serial)
            {
                _skipped.Insert(i, (from, serial));
            }

            return true;
        }

        return false;
    }
}
