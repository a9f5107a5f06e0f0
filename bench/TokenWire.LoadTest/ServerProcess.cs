using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Reflection;

namespace TokenWire.LoadTest;

/// <summary>
/// A TokenWire server started as a child process on a free 127.0.0.1 port, with the development keys, and killed on
/// dispose. Its warnings and errors are kept so a scenario can report e.g. slow-consumer disconnects.
/// </summary>
public sealed class ServerProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _problems = new();
    private readonly ConcurrentQueue<string> _tail = new();
    private string? _pendingLevel;

    private ServerProcess(Process process, Uri baseUri)
    {
        _process = process;
        BaseUri = baseUri;
    }

    public Uri BaseUri { get; }

    public int ProcessId => _process.Id;

    /// <summary>Warning and error log lines since the last <see cref="DrainProblems"/>.</summary>
    public IReadOnlyList<string> DrainProblems()
    {
        var lines = new List<string>();
        while (_problems.TryDequeue(out var line))
        {
            lines.Add(line);
        }

        return lines;
    }

    /// <summary>Total and kernel-mode CPU time used so far.</summary>
    public (TimeSpan Total, TimeSpan Kernel) CpuTime
    {
        get
        {
            _process.Refresh();
            return (_process.TotalProcessorTime, _process.PrivilegedProcessorTime);
        }
    }

    public long WorkingSetBytes
    {
        get
        {
            _process.Refresh();
            return _process.WorkingSet64;
        }
    }

    /// <summary>The server's build output next to this tool's (same configuration), found from the solution root.</summary>
    public static string? FindServerDll()
    {
        var configuration = typeof(ServerProcess).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .FirstOrDefault(a => a.Key == "TokenWire.BuildConfiguration")?.Value ?? "Release";
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "TokenWire.sln")))
            {
                var dll = Path.Combine(dir.FullName, "src", "TokenWire.Server", "bin", configuration, "net10.0", "TokenWire.Server.dll");
                return File.Exists(dll) ? dll : null;
            }
        }

        return null;
    }

    /// <param name="serverId">Distinguishes the nodes of a cluster in CONNECTED's connectionDetails and in Redis.</param>
    /// <param name="redis">host:port of the Redis to share with other nodes; null for the embedded engine.</param>
    public static async Task<ServerProcess> StartAsync(string serverDll, string serverId, string? redis, IReadOnlyDictionary<string, string> environment, CancellationToken cancellationToken)
    {
        var port = FreeLoopbackPort();
        var baseUri = new Uri($"http://127.0.0.1:{port}");
        var start = new ProcessStartInfo(DotnetHost())
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = Path.GetDirectoryName(serverDll)!,
        };
        start.ArgumentList.Add(serverDll);
        start.ArgumentList.Add("--urls");
        start.ArgumentList.Add(baseUri.ToString().TrimEnd('/'));
        if (redis is not null)
        {
            start.ArgumentList.Add("--redis");
            start.ArgumentList.Add(redis);
        }

        start.Environment["ASPNETCORE_ENVIRONMENT"] = "Development";
        start.Environment["DOTNET_NOLOGO"] = "1";
        start.Environment["TokenWire__ServerId"] = serverId;

        // The benchmark measures the transport: lift the per-connection inbound rate limit its publisher would exceed.
        start.Environment["TokenWire__Limits__MaxInboundRate"] = "0";
        foreach (var (name, value) in environment)
        {
            start.Environment[name] = value;
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException("could not start the server process");
        var server = new ServerProcess(process, baseUri);
        process.OutputDataReceived += (_, e) => server.OnLogLine(e.Data);
        process.ErrorDataReceived += (_, e) => server.OnLogLine(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            await server.WaitUntilHealthyAsync(cancellationToken);
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }

        server.DrainProblems(); // Startup warnings (development keys active) are expected.
        return server;
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
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

    private async Task WaitUntilHealthyAsync(CancellationToken cancellationToken)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < TimeSpan.FromSeconds(30))
        {
            if (_process.HasExited)
            {
                await _process.WaitForExitAsync(cancellationToken); // Flushes the output readers.
                throw new InvalidOperationException($"the server exited with code {_process.ExitCode}: {string.Join(" | ", _tail)}");
            }

            try
            {
                using var response = await http.GetAsync(new Uri(BaseUri, "/health"), cancellationToken);
                if (response.IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
            }
            catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
            }

            await Task.Delay(100, cancellationToken);
        }

        throw new TimeoutException("the server did not become healthy within 30 s");
    }

    /// <summary>Console logger output: a "warn: Category[id]" line, then the message indented on the next line.</summary>
    private void OnLogLine(string? line)
    {
        if (line is null)
        {
            return;
        }

        _tail.Enqueue(line);
        while (_tail.Count > 10 && _tail.TryDequeue(out _))
        {
        }

        if (_pendingLevel is { } level)
        {
            _pendingLevel = null;
            _problems.Enqueue($"{level}: {line.Trim()}");
            return;
        }

        if (line.StartsWith("warn:", StringComparison.Ordinal) || line.StartsWith("fail:", StringComparison.Ordinal) || line.StartsWith("crit:", StringComparison.Ordinal))
        {
            _pendingLevel = line[..4];
        }
        else if (line.StartsWith("Unhandled exception", StringComparison.Ordinal))
        {
            _problems.Enqueue(line);
        }
    }

    internal static int FreeLoopbackPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>The dotnet host running this tool when started with <c>dotnet</c>, else the one on PATH.</summary>
    private static string DotnetHost()
    {
        var path = Environment.ProcessPath;
        return path is not null && Path.GetFileNameWithoutExtension(path) == "dotnet" ? path : "dotnet";
    }
}
