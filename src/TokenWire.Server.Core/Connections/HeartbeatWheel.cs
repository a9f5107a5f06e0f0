using System.Collections.Concurrent;
using Microsoft.Extensions.Options;
using TokenWire.Server.Configuration;

namespace TokenWire.Server.Connections;

/// <summary>
/// One timer for the node's transports instead of one per connection: every half <c>maxIdleInterval</c> it lets each
/// one registered keep its client hearing from the server (<see cref="IRealtimeTransport.OnHeartbeatTick"/>): a
/// HEARTBEAT for <c>heartbeats=true</c> (browsers cannot see WebSocket pings) if it sent nothing for that long, a
/// WebSocket ping where the socket's stream lets the wheel send them (<see cref="IWebSocketPinger"/>), so a client
/// hears from the server at least once per <c>maxIdleInterval</c> and a dead peer is found.
/// </summary>
public sealed class HeartbeatWheel : IDisposable
{
    private readonly ConcurrentDictionary<IRealtimeTransport, byte> _transports = new();
    private readonly TimeSpan _interval;
    private readonly ITimer _timer;

    public HeartbeatWheel(IOptions<TokenWireOptions> options, TimeProvider time)
    {
        _interval = options.Value.Connection.KeepAliveInterval;
        _timer = time.CreateTimer(_ => Tick(), null, _interval, _interval);
    }

    public void Add(IRealtimeTransport transport) => _transports.TryAdd(transport, 0);

    public void Remove(IRealtimeTransport transport) => _transports.TryRemove(transport, out _);

    public void Dispose() => _timer.Dispose();

    private void Tick()
    {
        foreach (var transport in _transports.Keys)
        {
            transport.OnHeartbeatTick(_interval);
        }
    }
}
