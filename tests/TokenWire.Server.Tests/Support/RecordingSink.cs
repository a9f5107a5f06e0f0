using TokenWire.Protocol;
using TokenWire.Server.Fanout;

namespace TokenWire.Server.Tests.Support;

/// <summary>An <see cref="IFrameSink"/> that records every frame, in order, for assertions.</summary>
internal sealed class RecordingSink(string connectionId, bool echoMessages = true) : IFrameSink
{
    private readonly Lock _gate = new();
    private readonly List<ProtocolMessage> _frames = [];
    private readonly List<MessageBatch> _batches = [];
    private int _messageCount;

    public string ConnectionId { get; } = connectionId;

    public bool EchoMessages { get; } = echoMessages;

    public IReadOnlyList<ProtocolMessage> Frames
    {
        get
        {
            lock (_gate)
            {
                return [.. _frames];
            }
        }
    }

    /// <summary>Every delivered message, flattened across frames.</summary>
    public IReadOnlyList<Message> Messages => [.. Frames.Where(f => f.Action == ProtocolAction.Message).SelectMany(f => f.Messages ?? [])];

    /// <summary>Messages delivered so far; cheap enough to poll.</summary>
    public int MessageCount => Volatile.Read(ref _messageCount);

    public void Enqueue(EncodedFrame frame)
    {
        lock (_gate)
        {
            _frames.Add(frame.Message);
            if (frame.Message.Action == ProtocolAction.Message)
            {
                _messageCount += frame.Message.Messages?.Count ?? 0;
            }
        }
    }

    /// <summary>The message batches as queued, to check what a connection would compose them from.</summary>
    public IReadOnlyList<MessageBatch> Batches
    {
        get
        {
            lock (_gate)
            {
                return [.. _batches];
            }
        }
    }

    public void Enqueue(MessageBatch batch)
    {
        lock (_gate)
        {
            _batches.Add(batch);
        }

        Enqueue(new EncodedFrame(batch.ToProtocolMessage()));
    }

    public ValueTask EnqueueReplayAsync(MessageBatch batch, CancellationToken cancellationToken)
    {
        Enqueue(batch);
        return ValueTask.CompletedTask;
    }

    /// <summary>Records a non-message frame (the ATTACHED a transport would queue), to check frame order.</summary>
    public void Record(ProtocolMessage frame)
    {
        lock (_gate)
        {
            _frames.Add(frame);
        }
    }
}
