using TokenWire.Protocol;

namespace TokenWire.Server.Connections;

/// <summary>
/// Paces one connection's writer to <c>maxOutboundRate</c> messages a second (Ably: messages delivered to one
/// connection). A token bucket holding one second's worth, counted in messages, not frames: a MESSAGE frame costs its
/// message count, other frames nothing. Instead of refusing, it lets the bucket go into debt and says how long to wait
/// before the write, so a connection above the rate falls behind, its bounded outbound queue fills and the slow-consumer
/// policy disconnects it (it then resumes and is replayed what it missed); nothing waits but that connection's writer.
/// Not thread-safe: the transport's write loop is its only caller.
/// </summary>
public sealed class OutboundRateLimiter(int messagesPerSecond, TimeProvider time)
{
    private double _tokens = messagesPerSecond;
    private long _refilledAt = time.GetTimestamp();

    /// <summary>Whether a rate applies at all (0 or less = unlimited).</summary>
    public bool IsLimited => messagesPerSecond > 0;

    /// <summary>Messages <paramref name="message"/> delivers: the count of a MESSAGE frame, 0 for anything else.</summary>
    public static int MessagesIn(ProtocolMessage message) =>
        message.Action == ProtocolAction.Message ? Math.Max(1, message.Messages?.Count ?? 0) : 0;

    /// <summary>Takes <paramref name="messages"/> tokens; returns how long to wait before writing them (zero within the rate).</summary>
    public TimeSpan Take(int messages)
    {
        if (!IsLimited || messages <= 0)
        {
            return TimeSpan.Zero;
        }

        var now = time.GetTimestamp();
        _tokens = Math.Min(messagesPerSecond, _tokens + (time.GetElapsedTime(_refilledAt, now).TotalSeconds * messagesPerSecond));
        _refilledAt = now;
        _tokens -= messages;
        return _tokens >= 0 ? TimeSpan.Zero : TimeSpan.FromSeconds(-_tokens / messagesPerSecond);
    }
}
