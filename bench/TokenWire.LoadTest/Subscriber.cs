using System.Diagnostics;
using System.Net.WebSockets;
using TokenWire.Protocol;

namespace TokenWire.LoadTest;

/// <summary>
/// One attached subscriber: reads its socket until every scheduled message has arrived, checking that msgSerials
/// arrive as 0, 1, 2… (no gap, no duplicate, no reordering) and recording each measured message's publish→deliver
/// latency into the scenario's shared histogram.
/// </summary>
public sealed class Subscriber(AblySocket socket, PublishSchedule schedule, LatencyHistogram latency, DecodeMode mode)
{
    private readonly List<long> _serials = new(4);
    private readonly TaskCompletionSource _done = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long _next;
    private long _payloadErrors;

    public AblySocket Socket { get; } = socket;

    /// <summary>Completes when the last scheduled message has arrived or the socket ended.</summary>
    public Task Completion => _done.Task;

    /// <summary>Messages delivered in order (first arrival of each msgSerial).</summary>
    public long Delivered { get; private set; }

    public long MeasuredDelivered { get; private set; }

    /// <summary>Stopwatch timestamp of the latest measured delivery.</summary>
    public long LastMeasuredDelivery { get; private set; }

    /// <summary>Times a msgSerial skipped ahead of the expected one.</summary>
    public long Gaps { get; private set; }

    /// <summary>Arrivals of a msgSerial at or below one already seen (duplicate or out of order).</summary>
    public long Regressions { get; private set; }

    /// <summary>Messages whose id or (with full decoding) payload was not what was published.</summary>
    public long PayloadErrors => _payloadErrors;

    /// <summary>Scheduled messages that never arrived (tail not delivered, or skipped over by a gap).</summary>
    public long Missing => schedule.Total - Delivered;

    /// <summary>Why the socket ended before all messages arrived, if it did.</summary>
    public string? EndedEarly { get; private set; }

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        try
        {
            while (_next < schedule.Total)
            {
                var frame = await Socket.ReceiveFrameAsync(cancellationToken);
                var now = Stopwatch.GetTimestamp();
                if (frame.IsEmpty)
                {
                    EndedEarly = "closed by server";
                    return;
                }

                _serials.Clear();
                var action = FrameScanner.Scan(Socket.Format, mode, frame, _serials, ref _payloadErrors);
                switch (action)
                {
                    case ProtocolAction.Message:
                        foreach (var serial in _serials)
                        {
                            OnMessage(serial, now);
                        }

                        break;
                    case ProtocolAction.Error or ProtocolAction.Disconnected or ProtocolAction.Detached or ProtocolAction.Closed:
                        EndedEarly = $"server sent {action}";
                        return;
                    default:
                        break; // HEARTBEAT and anything else: not a delivery.
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
        catch (WebSocketException ex)
        {
            EndedEarly = ex.Message;
        }
        finally
        {
            _done.TrySetResult();
        }
    }

    private void OnMessage(long serial, long now)
    {
        if (serial < 0)
        {
            _payloadErrors++;
            return;
        }

        if (serial > _next)
        {
            Gaps++;
        }
        else if (serial < _next)
        {
            Regressions++;
            return;
        }

        _next = serial + 1;
        Delivered++;
        if (schedule.IsMeasured(serial))
        {
            MeasuredDelivered++;
            LastMeasuredDelivery = now;
            latency.RecordTicks(now - schedule.DueAt(serial));
        }
    }
}
