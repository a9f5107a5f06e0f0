using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace TokenWire.Testing;

/// <summary>
/// A loopback TCP proxy in front of the server, so a test can cut a client's connection abruptly
/// (<see cref="KillConnections"/> resets both sides, like a network failure) while the proxy keeps accepting new
/// connections for the reconnect. <see cref="HoldNewConnections"/> makes those wait at the proxy until
/// <see cref="ReleaseHeld"/>, so a benchmark knows to the tick when a reconnect reaches the server.
/// </summary>
public sealed class TcpProxy : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly int _targetPort;
    private readonly List<(Socket Client, Socket Server)> _pairs = [];
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _acceptLoop;
    private int _accepted;
    private TaskCompletionSource _downstream = CompletedGate();
    private TaskCompletionSource _admission = CompletedGate();
    private int _held;

    public TcpProxy(int targetPort)
    {
        _targetPort = targetPort;
        _listener.Start();
        Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
        _acceptLoop = AcceptLoopAsync();
    }

    public int Port { get; }

    /// <summary>
    /// When set, the <c>resume=</c> connection key in each new WebSocket upgrade request is altered in flight, so the
    /// server cannot find the connection: the way a resume fails after the server lost the connection's state.
    /// </summary>
    public bool BreakResumeKeys { get; set; }

    /// <summary>Connections accepted so far.</summary>
    public int Accepted => Volatile.Read(ref _accepted);

    /// <summary>Connections waiting at the proxy for <see cref="ReleaseHeld"/>.</summary>
    public int Held => Volatile.Read(ref _held);

    /// <summary>New connections are accepted but not connected to the server until <see cref="ReleaseHeld"/>.</summary>
    public void HoldNewConnections()
    {
        lock (_pairs)
        {
            if (_admission.Task.IsCompleted)
            {
                _admission = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            }
        }
    }

    /// <summary>Lets held and new connections through; returns the <see cref="Stopwatch"/> timestamp of the release.</summary>
    public long ReleaseHeld()
    {
        TaskCompletionSource gate;
        lock (_pairs)
        {
            gate = _admission;
        }

        var at = Stopwatch.GetTimestamp();
        gate.TrySetResult();
        return at;
    }

    /// <summary>
    /// Holds back everything the server sends (ACKs, messages) while client-to-server traffic still flows: publishes
    /// reach the server but stay unacknowledged. <see cref="KillConnections"/> lifts the hold for new connections.
    /// </summary>
    public void PauseDownstream()
    {
        lock (_pairs)
        {
            if (_downstream.Task.IsCompleted)
            {
                _downstream = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            }
        }
    }

    /// <summary>Lets the server's frames through again.</summary>
    public void ResumeDownstream()
    {
        lock (_pairs)
        {
            _downstream.TrySetResult();
        }
    }

    /// <summary>Resets every open connection (RST, no close handshake) on both sides.</summary>
    public int KillConnections()
    {
        List<(Socket Client, Socket Server)> pairs;
        lock (_pairs)
        {
            pairs = [.. _pairs];
            _pairs.Clear();
        }

        foreach (var (client, server) in pairs)
        {
            Reset(client);
            Reset(server);
        }

        TaskCompletionSource gate;
        lock (_pairs)
        {
            gate = _downstream;
        }

        gate.TrySetResult();
        return pairs.Count;
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        ReleaseHeld();
        KillConnections();
        try
        {
            await _acceptLoop;
        }
        catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
        {
        }

        _stop.Dispose();
    }

    private static void Reset(Socket socket)
    {
        try
        {
            socket.LingerState = new LingerOption(true, 0);
            socket.Close();
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
        }
    }

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            var client = await _listener.AcceptSocketAsync(_stop.Token);
            client.NoDelay = true;
            Interlocked.Increment(ref _accepted);
            _ = ConnectAsync(client);
        }
    }

    private async Task ConnectAsync(Socket client)
    {
        Task admission;
        lock (_pairs)
        {
            admission = _admission.Task;
        }

        Interlocked.Increment(ref _held);
        var server = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await admission.WaitAsync(_stop.Token);
            await server.ConnectAsync(new IPEndPoint(IPAddress.Loopback, _targetPort), _stop.Token);
        }
        catch (Exception ex) when (ex is SocketException or OperationCanceledException or ObjectDisposedException)
        {
            Reset(client);
            Reset(server);
            return;
        }
        finally
        {
            Interlocked.Decrement(ref _held);
        }

        lock (_pairs)
        {
            _pairs.Add((client, server));
        }

        _ = PumpAsync(client, server, BreakResumeKeys, downstream: false);
        _ = PumpAsync(server, client, rewriteFirstChunk: false, downstream: true);
    }

    private static TaskCompletionSource CompletedGate()
    {
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        gate.SetResult();
        return gate;
    }

    private async Task PumpAsync(Socket from, Socket to, bool rewriteFirstChunk, bool downstream)
    {
        var buffer = new byte[16 * 1024];
        try
        {
            while (true)
            {
                var read = await from.ReceiveAsync(buffer, SocketFlags.None);
                if (read == 0)
                {
                    to.Shutdown(SocketShutdown.Send);
                    return;
                }

                if (rewriteFirstChunk)
                {
                    rewriteFirstChunk = false;
                    var at = buffer.AsSpan(0, read).IndexOf("resume="u8);
                    if (at >= 0 && at + 7 < read)
                    {
                        // Same length, different key: the request stays valid HTTP.
                        buffer[at + 7] = buffer[at + 7] == (byte)'A' ? (byte)'B' : (byte)'A';
                    }
                }

                if (downstream)
                {
                    Task hold;
                    lock (_pairs)
                    {
                        hold = _downstream.Task;
                    }

                    await hold;
                }

                await to.SendAsync(buffer.AsMemory(0, read), SocketFlags.None);
            }
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
            Reset(from);
            Reset(to);
        }
    }
}
