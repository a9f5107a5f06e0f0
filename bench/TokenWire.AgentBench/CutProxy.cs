using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace TokenWire.AgentBench;

/// <summary>
/// A loopback TCP proxy in front of the server that the resume benchmark cuts: <see cref="Cut"/> resets every open
/// connection (RST on both sides, like a network failure) and holds new ones — accepted, but not connected to the
/// server — until <see cref="Release"/>. So the client's immediate reconnect waits at the proxy while tokens are
/// published, and the moment its new transport reaches the server is known to the tick.
/// </summary>
internal sealed class CutProxy : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly int _targetPort;
    private readonly List<Socket> _open = [];
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _acceptLoop;
    private TaskCompletionSource _gate = Open();
    private int _held;

    public CutProxy(int targetPort)
    {
        _targetPort = targetPort;
        _listener.Start();
        Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
        _acceptLoop = AcceptLoopAsync();
    }

    public int Port { get; }

    /// <summary>Connections waiting at the proxy for <see cref="Release"/>.</summary>
    public int Held => Volatile.Read(ref _held);

    /// <summary>Holds new connections, then resets every open one; returns how many were reset.</summary>
    public int Cut()
    {
        List<Socket> open;
        lock (_open)
        {
            if (_gate.Task.IsCompleted)
            {
                _gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            }

            open = [.. _open];
            _open.Clear();
        }

        foreach (var socket in open)
        {
            Reset(socket);
        }

        return open.Count;
    }

    /// <summary>Lets held and new connections through to the server; returns the Stopwatch timestamp of the release.</summary>
    public long Release()
    {
        TaskCompletionSource gate;
        lock (_open)
        {
            gate = _gate;
        }

        var at = Stopwatch.GetTimestamp();
        gate.TrySetResult();
        return at;
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        Release();
        Cut();
        Release();
        try
        {
            await _acceptLoop;
        }
        catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
        {
        }

        _stop.Dispose();
    }

    private static TaskCompletionSource Open()
    {
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        gate.SetResult();
        return gate;
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
            _ = ConnectAsync(client);
        }
    }

    private async Task ConnectAsync(Socket client)
    {
        client.NoDelay = true;
        Task gate;
        lock (_open)
        {
            _open.Add(client);
            gate = _gate.Task;
        }

        Interlocked.Increment(ref _held);
        try
        {
            await gate.WaitAsync(_stop.Token);
        }
        catch (OperationCanceledException)
        {
            Reset(client);
            return;
        }
        finally
        {
            Interlocked.Decrement(ref _held);
        }

        var server = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        lock (_open)
        {
            _open.Add(server);
        }

        try
        {
            await server.ConnectAsync(new IPEndPoint(IPAddress.Loopback, _targetPort), _stop.Token);
        }
        catch (Exception ex) when (ex is SocketException or OperationCanceledException or ObjectDisposedException)
        {
            Reset(client);
            Reset(server);
            return;
        }

        _ = PumpAsync(client, server);
        _ = PumpAsync(server, client);
    }

    private static async Task PumpAsync(Socket from, Socket to)
    {
        var buffer = new byte[64 * 1024];
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
