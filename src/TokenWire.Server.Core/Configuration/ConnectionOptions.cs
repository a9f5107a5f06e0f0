namespace TokenWire.Server.Configuration;

public sealed class ConnectionOptions
{
    /// <summary>How long a dropped connection's state is kept for resume (Ably default 120 s).</summary>
    public TimeSpan StateTtl { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>Announced maxIdleInterval; the server sends a heartbeat after half of it without other traffic.</summary>
    public TimeSpan MaxIdleInterval { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>
    /// WebSocket pings go to a socket that has been quiet this long, well inside maxIdleInterval: clients that asked for
    /// heartbeats=false (Node) count them as activity. The node's heartbeat wheel ticks at this interval.
    /// </summary>
    public TimeSpan KeepAliveInterval => MaxIdleInterval / 2;

    /// <summary>A WebSocket peer that answers no ping for this long is dropped (its connection stays resumable).</summary>
    public TimeSpan KeepAliveTimeout => MaxIdleInterval * 2;

    /// <summary>
    /// Serve plain realtime WebSocket upgrades below Kestrel's HTTP stack (Hosting/WebSocketFastPath): about 8 KB less
    /// per idle connection. Off: every request goes through ASP.NET Core.
    /// </summary>
    public bool WebSocketFastPath { get; set; } = true;
}
