using TokenWire.Protocol;

namespace TokenWire.Client;

/// <summary>
/// Publish pipelining (reference §4.4, §3.5). Every MESSAGE gets the next msgSerial when it is sent and stays
/// pending until ACK/NACK; many are in flight at once and the server acknowledges them in order. Publishes made
/// while not connected wait in a queue without a serial. After a resume the pending ones are resent with their
/// serials (the server deduplicates them); after a new connection they are renumbered from 0.
/// </summary>
public sealed partial class Connection
{
    /// <summary>Sent, awaiting ACK, ascending msgSerial.</summary>
    private readonly Queue<PendingPublish> _pending = new();

    /// <summary>Waiting for a connection; serials are assigned when sent.</summary>
    private readonly Queue<PendingPublish> _queued = new();

    private long _msgSerial;

    internal Task<PublishResult> PublishAsync(ProtocolMessage message, CancellationToken cancellationToken)
    {
        var pending = new PendingPublish(message);
        lock (Gate)
        {
            EnsureConnectingLocked();
            switch (_state)
            {
                case ConnectionState.Connected:
                    SendPublishLocked(pending);
                    break;
                case ConnectionState.Initialized or ConnectionState.Connecting or ConnectionState.Disconnected when _options.QueueMessages:
                    _queued.Enqueue(pending);
                    break;
                default:
                    return Task.FromException<PublishResult>(new AblyException(StateErrorLocked()));
            }
        }

        return cancellationToken.CanBeCanceled ? pending.Completion.Task.WaitAsync(cancellationToken) : pending.Completion.Task;
    }

    private void SendPublishLocked(PendingPublish pending)
    {
        pending.Message.MsgSerial = _msgSerial++;
        _pending.Enqueue(pending);

        // A dead transport refuses the frame; it stays pending and goes out again on the next transport.
        _session?.Transport.Send(pending.Message);
    }

    /// <summary>A new connection numbers from 0 (RTN15c7). Copies, because the old transport may still be encoding the originals.</summary>
    private void RenumberPendingLocked()
    {
        _msgSerial = 0;
        foreach (var pending in _pending)
        {
            var original = pending.Message;
            pending.Message = new ProtocolMessage(original.Action)
            {
                Channel = original.Channel,
                Messages = original.Messages,
                Presence = original.Presence,
                Annotations = original.Annotations,
                Params = original.Params,
                MsgSerial = _msgSerial++,
            };
        }
    }

    /// <summary>ACK of <c>count</c> serials from <c>msgSerial</c>; earlier pending ones are complete too (reference §4.4).</summary>
    private void OnAck(ProtocolMessage message)
    {
        lock (Gate)
        {
            var first = message.MsgSerial ?? 0;
            var end = first + (message.Count ?? 1);
            while (_pending.TryPeek(out var pending) && pending.Message.MsgSerial < end)
            {
                _pending.Dequeue();
                var index = pending.Message.MsgSerial!.Value - first;
                var result = message.Res is { } res && index >= 0 && index < res.Count ? res[(int)index] : new PublishResult([]);
                pending.Completion.TrySetResult(result);
            }
        }
    }

    private void OnNack(ProtocolMessage message)
    {
        lock (Gate)
        {
            var first = message.MsgSerial ?? 0;
            var end = first + (message.Count ?? 1);
            var error = message.Error ?? ErrorCodes.Create(ErrorCodes.InternalChannelError, "Publish rejected by the server");
            while (_pending.TryPeek(out var pending) && pending.Message.MsgSerial < end)
            {
                _pending.Dequeue();
                pending.Completion.TrySetException(new AblyException(error));
            }
        }
    }

    /// <summary>Fails everything pending and queued (SUSPENDED, CLOSED, FAILED: spec RTN7c).</summary>
    private void FailPublishesLocked(ErrorInfo reason)
    {
        while (_pending.TryDequeue(out var pending))
        {
            pending.Completion.TrySetException(new AblyException(reason));
        }

        while (_queued.TryDequeue(out var queued))
        {
            queued.Completion.TrySetException(new AblyException(reason));
        }
    }

    private sealed class PendingPublish(ProtocolMessage message)
    {
        public ProtocolMessage Message { get; set; } = message;

        public TaskCompletionSource<PublishResult> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
