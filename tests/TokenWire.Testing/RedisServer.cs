using System.Diagnostics;
using System.Net.Sockets;
using System.Text;

namespace TokenWire.Testing;

/// <summary>
/// A throwaway real <c>redis-server</c>, shared by the Redis engine's tests and the load test: bound to 127.0.0.1 on a
/// free port, nothing persisted, killed on dispose. It runs in the foreground as a child process (not daemonized) so
/// that stopping it needs no pid file and its CPU time can be read like the servers'. Ready once it answers PING.
/// </summary>
public sealed class RedisServer : IAsyncDisposable
{
    /// <summary>Generous: a busy CI box may take a while to start a process.</summary>
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(20);

    /// <summary>Starts on a port that turned out to be taken before trying the next one.</summary>
    private const int PortAttempts = 5;

    private readonly Process _process;
    private readonly System.Collections.Concurrent.ConcurrentQueue<string> _startupOutput = new();
    private volatile bool _ready;

    private RedisServer(Process process, int port)
    {
        _process = process;
        Port = port;
    }

    public int Port { get; }

    /// <summary>The value for the server's <c>--redis</c> option and a StackExchange.Redis configuration.</summary>
    public string Endpoint => $"127.0.0.1:{Port}";

    public TimeSpan CpuTime
    {
        get
        {
            _process.Refresh();
            return _process.TotalProcessorTime;
        }
    }

    public static async Task<RedisServer> StartAsync(CancellationToken cancellationToken = default)
    {
        // A free port is free when it is picked, not necessarily when redis-server binds it: it then exits saying so,
        // and another port is picked.
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await StartOnceAsync(cancellationToken);
            }
            catch (PortTakenException) when (attempt < PortAttempts)
            {
            }
        }
    }

    private static async Task<RedisServer> StartOnceAsync(CancellationToken cancellationToken)
    {
        var port = FreeLoopbackPort();
        var start = new ProcessStartInfo("redis-server")
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = Path.GetTempPath(),
        };
        // No RDB snapshots or AOF: a benchmark's Redis must not write to disk or leave files behind.
        foreach (var argument in new[] { "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--daemonize", "no" })
        {
            start.ArgumentList.Add(argument);
        }

        Process process;
        try
        {
            process = Process.Start(start) ?? throw new InvalidOperationException("could not start redis-server");
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            throw new InvalidOperationException("redis-server is not on PATH: the Redis engine needs a real one. Install it with `apt-get install -y redis-server` (./test.sh does).", ex);
        }

        // Read, so a full pipe never blocks it; kept until it is ready, for the reason it exits if it does.
        var redis = new RedisServer(process, port);
        process.OutputDataReceived += (_, e) => redis.Capture(e.Data);
        process.ErrorDataReceived += (_, e) => redis.Capture(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            await redis.WaitUntilReadyAsync(cancellationToken);
        }
        catch
        {
            await redis.DisposeAsync();
            throw;
        }

        return redis;
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill();
            }

            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            await _process.WaitForExitAsync(timeout.Token);
        }
        catch (Exception ex) when (ex is InvalidOperationException or OperationCanceledException)
        {
        }
        finally
        {
            _process.Dispose();
        }
    }

    /// <summary>PING over plain RESP until it answers PONG, so nothing starts against a closed port.</summary>
    private async Task WaitUntilReadyAsync(CancellationToken cancellationToken)
    {
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < StartTimeout)
        {
            if (_process.HasExited)
            {
                await _process.WaitForExitAsync(cancellationToken); // its last lines, which say why, are read by now
                var output = string.Join(Environment.NewLine, _startupOutput);
                var message = $"redis-server exited with code {_process.ExitCode}:{Environment.NewLine}{output}";
                throw PortTakenException.Says(output) ? new PortTakenException(message) : new InvalidOperationException(message);
            }

            try
            {
                if (await AnswersAsOurselvesAsync(cancellationToken))
                {
                    _ready = true;
                    _startupOutput.Clear();
                    return;
                }
            }
            catch (Exception ex) when (ex is SocketException or IOException)
            {
            }

            await Task.Delay(50, cancellationToken);
        }

        throw new TimeoutException($"redis-server did not answer PING within {StartTimeout.TotalSeconds} s");
    }

    /// <summary>
    /// Whether the server on <see cref="Port"/> is this process: another test's redis-server that took the port first
    /// also answers PING, and sharing it would mix two tests' data.
    /// </summary>
    private async Task<bool> AnswersAsOurselvesAsync(CancellationToken cancellationToken)
    {
        const string Field = "process_id:";
        using var client = new TcpClient();
        await client.ConnectAsync("127.0.0.1", Port, cancellationToken);
        var stream = client.GetStream();
        await stream.WriteAsync("INFO server\r\n"u8.ToArray(), cancellationToken);
        var reply = new StringBuilder();
        var buffer = new byte[4096];
        while (true)
        {
            var read = await stream.ReadAsync(buffer, cancellationToken);
            if (read == 0)
            {
                return false;
            }

            var text = reply.Append(Encoding.ASCII.GetString(buffer, 0, read)).ToString();
            if (text.StartsWith('-'))
            {
                return false; // an error reply: not ready yet
            }

            var at = text.IndexOf(Field, StringComparison.Ordinal);
            var end = at < 0 ? -1 : text.IndexOf("\r\n", at, StringComparison.Ordinal);
            if (end >= 0)
            {
                return text[(at + Field.Length)..end] == _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture);
            }
        }
    }

    private void Capture(string? line)
    {
        if (line is not null && !_ready)
        {
            _startupOutput.Enqueue(line);
        }
    }

    private static int FreeLoopbackPort()
    {
        using var listener = new TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
    }
}
