using System.Collections.Concurrent;
using Microsoft.Extensions.Options;
using TokenWire.Server.Configuration;

namespace TokenWire.Server.Connections;

/// <summary>
/// One timer for the node's transports instead of one per connection: every half <c>maxIdleInterval</c> it lets each
/// one registered keep its client hearing from the server (<see cref="IRealtimeTransport.OnHeartbeatTick"/>): a
/// HEARTBEAT for <c>heartbeats=true</c> (browsers cannot see WebSocket pings) if it sent nothing for that long, a
/// WebSocket ping where the socket's stream lets the wheel send them (<see cref="IWebSocketPinger"/>), so a client
/// hears from the server at least once per <c>maxIdleInterval</c> and a dead peer is found. The transports are spread
/// over <see cref="Slots"/> slots, one slot a step: tens of thousands of idle sockets written at once would rent a
/// socket buffer each at the same moment (and their pongs another), growing the pool for all of them.
/// </summary>
public sealed class HeartbeatWheel : IDisposable
{
    private const int Slots = 8;

    /// <summary>Each transport with its slot.</summary>
    private readonly ConcurrentDictionary<IRealtimeTransport, byte> _transports = new();
    private readonly TimeSpan _interval;
    private readonly ITimer _timer;
    private int _added;
    private int _steps;

    public HeartbeatWheel(IOptions<TokenWireOptions> options, TimeProvider time)
    {
        _interval = options.Value.Connection.KeepAliveInterval;
        var step = _interval / Slots;
        _timer = time.CreateTimer(_ => Step(), null, step, step);
    }

    public void Add(IRealtimeTransport transport) => _transports.TryAdd(transport, (byte)((uint)Interlocked.Increment(ref _added) % Slots));

    public void Remove(IRealtimeTransport transport) => _transports.TryRemove(transport, out _);

    public void Dispose() => _timer.Dispose();

    /// <summary>Ticks one slot's transports: each transport once per interval.</summary>
    private void Step()
    {
        var slot = (byte)((uint)Interlocked.Increment(ref _steps) % Slots);
        foreach (var (transport, transportSlot) in _transports)
        {
            if (transportSlot == slot)
            {
                transport.OnHeartbeatTick(_interval);
            }
        }
    }
}
