using Microsoft.Extensions.Logging;
using TokenWire.Protocol;
using TokenWire.Server.Diagnostics;
using TokenWire.Server.Engine;

namespace TokenWire.Server.Connections;

/// <summary>
/// The ordered ACK/NACK window of one transport, shared by MESSAGE and PRESENCE: each operation is started at once,
/// in msgSerial order, and answered in that order when it completes — ACK with its serials, or NACK with the Ably
/// error it failed with. A remote log (Redis) then costs one round trip per window, not per message.
/// An operation that outlasted an engine outage is never NACKed (it may yet have been stored, and a NACK invites a
/// retry that would duplicate and reorder): <paramref name="endForOutage"/> disconnects the transport instead, nothing
/// is answered after it, and the client resumes and retransmits whatever is unacknowledged, which the log deduplicates.
/// </summary>
internal sealed partial class AcknowledgementQueue(Action<ProtocolMessage> send, Action<ErrorInfo> endForOutage, ILogger logger, string connectionId, MessageMetrics? metrics = null)
{
    /// <summary>
    /// Operations a connection may have in flight (started, not yet answered) before its read loop waits: bounds a
    /// fast publisher's memory while leaving room for a full pipeline of token appends.
    /// </summary>
    private const int MaxInFlight = 256;

    /// <summary>The answer of the latest operation; each one awaits its predecessor, so they go out in msgSerial order.</summary>
    private Task _tail = Task.CompletedTask;
    private int _inFlight;

    /// <summary>Set once the transport was ended for an outage; only touched by the answers, one at a time.</summary>
    private bool _ended;

    /// <summary>
    /// The ACK every answer reuses (with its one-entry <c>res</c>): answers go out one at a time, and the transport only
    /// borrows it for the call (<see cref="IRealtimeTransport.SendAnswer"/>), so a publish costs no ProtocolMessage.
    /// </summary>
    private readonly ProtocolMessage _ack = new(ProtocolAction.Ack) { Count = 1 };
    private readonly PublishResult[] _ackRes = new PublishResult[1];

    /// <summary>
    /// Answers <paramref name="msgSerial"/> once <paramref name="outcome"/> completes, after every earlier one; awaits
    /// it once. A ValueTask: an operation that completed at once (an in-memory append) then allocates no Task.
    /// </summary>
    /// <param name="channel">The operation's channel, named in the log if it fails unexpectedly.</param>
    public void Enqueue(long msgSerial, ValueTask<PublishResult?> outcome, string? channel = null)
    {
        Interlocked.Increment(ref _inFlight);
        _tail = AnswerAfterAsync(_tail, msgSerial, outcome, channel);
    }

    /// <summary>Completes once every operation enqueued so far has been answered (or suppressed).</summary>
    public Task Answered => _tail;

    /// <summary>A refusal, answered in its place in msgSerial order (behind any operation still in flight).</summary>
    public void Nack(long msgSerial, ErrorInfo error) => Enqueue(msgSerial, ValueTask.FromException<PublishResult?>(new ProtocolException(error)));

    /// <summary>Waits while the window is full; the caller is the transport's read loop.</summary>
    public async ValueTask WaitForRoomAsync()
    {
        if (Volatile.Read(ref _inFlight) > MaxInFlight)
        {
            await _tail.ConfigureAwait(false);
        }
    }

    private async Task AnswerAfterAsync(Task previous, long msgSerial, ValueTask<PublishResult?> outcome, string? channel)
    {
        await previous.ConfigureAwait(false); // never faults: every answer handles its own outcome
        try
        {
            var result = await outcome.ConfigureAwait(false);
            if (!_ended)
            {
                SendAck(msgSerial, result);
            }
        }
        catch (EngineUnavailableException ex)
        {
            if (!_ended)
            {
                _ended = true;
                endForOutage(ex.Error);
            }
        }
        catch (ProtocolException ex)
        {
            if (!_ended)
            {
                metrics?.Nack(ex.Error.Code);
                send(new ProtocolMessage(ProtocolAction.Nack) { MsgSerial = msgSerial, Count = 1, Error = ex.Error });
            }
        }
        catch (OperationCanceledException)
        {
            // The transport is ending; the client retransmits after resuming and the log deduplicates.
        }
        catch (Exception ex)
        {
            OperationFailed(logger, ex, connectionId, msgSerial, channel ?? "(none)");
            if (!_ended)
            {
                metrics?.Nack(ErrorCodes.InternalChannelError);
                send(new ProtocolMessage(ProtocolAction.Nack)
                {
                    MsgSerial = msgSerial,
                    Count = 1,
                    Error = ErrorCodes.Create(ErrorCodes.InternalChannelError, "Publish failed: internal error; retry"),
                });
            }
        }
        finally
        {
            Interlocked.Decrement(ref _inFlight);
        }
    }

    /// <summary>Presence ACKs carry no res (there are no serials to report).</summary>
    private void SendAck(long msgSerial, PublishResult? result)
    {
        _ack.MsgSerial = msgSerial;
        if (result is not null)
        {
            _ackRes[0] = result;
            _ack.Res = _ackRes;
        }

        try
        {
            send(_ack);
        }
        finally
        {
            // Nothing of this publish stays reachable from the queue, which lives as long as the connection.
            _ackRes[0] = null!;
            _ack.Res = null;
        }
    }

    /// <summary>
    /// A copy of an answer that a transport keeps past <see cref="IRealtimeTransport.SendAnswer"/> (to queue it): the
    /// answer itself is reused for the next one.
    /// </summary>
    public static ProtocolMessage Keep(ProtocolMessage answer) => new(answer.Action)
    {
        MsgSerial = answer.MsgSerial,
        Count = answer.Count,
        Error = answer.Error,
        Res = answer.Res is { } res ? [.. res] : null,
    };

    [LoggerMessage(Level = LogLevel.Error, Message = "Connection {ConnectionId}: operation msgSerial {MsgSerial} on channel {Channel} failed")]
    private static partial void OperationFailed(ILogger logger, Exception exception, string connectionId, long msgSerial, string channel);
}
