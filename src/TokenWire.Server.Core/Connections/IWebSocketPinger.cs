namespace TokenWire.Server.Connections;

/// <summary>
/// The stream under a WebSocket, when it lets the node's <see cref="HeartbeatWheel"/> keep the socket alive instead of
/// the WebSocket's own timer per socket: it writes ping frames between the WebSocket's frames and notes when the peer
/// last sent anything (its pongs included, which the WebSocket consumes unseen).
/// </summary>
public interface IWebSocketPinger
{
    /// <summary><see cref="Environment.TickCount64"/> when bytes from the peer last arrived.</summary>
    long LastReceivedTicks { get; }

    /// <summary>Writes a ping frame, unless a write is under way or the peer is not reading ours (the next tick tries again).</summary>
    void SendPing();
}
