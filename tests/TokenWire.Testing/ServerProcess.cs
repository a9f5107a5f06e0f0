using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace TokenWire.Testing;

/// <summary>
/// A real TokenWire server process: the Release build of src/TokenWire.Server (or <c>TOKENWIRE_SERVER_DLL</c>) on a free
/// loopback port, in the Development environment so the development keys exist. Ready once <c>GET /time</c> answers.
/// Its output is kept (bounded) for failure messages and handed line by line to an optional observer.
/// The load test (bench/TokenWire.LoadTest) starts any such dll through the same class, with its own environment.
/// </summary>
public sealed class ServerProcess : IAsyncDisposable
{
    public const string RootKey = "dev.root:dev-root-secret";
    public const string SubscribeOnlyKey = "dev.sub:dev-sub-secret";

    /// <summary>A bound on a hang, not a budget: an exit is reported at once, and a saturated box can take over 30 s to start one.</summary>
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(120);

    /// <summary>Starts on a port that turned out to be taken before trying the next one; the same bound as the interop harness.</summary>
    private const int PortAttempts = 5;

    /// <summary>Lines kept for <see cref="OutputTail"/>; enough for any failure message, bounded for long fuzz runs.</summary>
    private const int KeptLines = 2000;

    private readonly ConcurrentQueue<string> _output = new();
    private readonly Action<string>? _onLine;
    private Process? _process;

    private ServerProcess(int port, Action<string>? onLine)
    {
        Port = port;
        _onLine = onLine;
    }

    public string Host => "127.0.0.1";

    public int Port { get; }

    public Uri BaseUri => new($"http://{Host}:{Port}/");

    public bool HasExited => _process is null || _process.HasExited;

    /// <summary>The server's process id (the dotnet host running the dll), e.g. to sample its CPU time.</summary>
    public int ProcessId => _process?.Id ?? throw new InvalidOperationException("The server process is not running");

    public string OutputTail => string.Join(Environment.NewLine, _output.TakeLast(80));

    /// <param name="arguments">Extra command-line configuration, e.g. <c>--TokenWire:Section:Key=value</c>.</param>
    /// <param name="onLine">Called for every line the server writes (from the output reader's thread).</param>
    public static Task<ServerProcess> StartAsync(IEnumerable<string> arguments, Action<string>? onLine = null)
    {
        var dll = Environment.GetEnvironmentVariable("TOKENWIRE_SERVER_DLL") is { Length: > 0 } configured
            ? configured
            : Path.Combine(FindRepositoryRoot(), "src", "TokenWire.Server", "bin", "Release", "net10.0", "TokenWire.Server.dll");
        if (!File.Exists(dll))
        {
            throw new InvalidOperationException(
                $"TokenWire server not built: {dll} is missing. Run `dotnet build TokenWire.sln -c Release` in the repository root first " +
                "(or point TOKENWIRE_SERVER_DLL at a built TokenWire.Server.dll).");
        }

        return StartAsync(dll, arguments, environment: null, onLine, CancellationToken.None);
    }

    /// <summary>
    /// Starts <paramref name="dll"/>: any ASP.NET Core app that takes <c>--urls http://127.0.0.1:PORT</c> and answers
    /// <c>GET /time</c> once it accepts connections.
    /// </summary>
    /// <param name="environment">Extra environment variables for the process, applied last.</param>
    public static async Task<ServerProcess> StartAsync(
        string dll,
        IEnumerable<string> arguments,
        IReadOnlyDictionary<string, string>? environment,
        Action<string>? onLine,
        CancellationToken cancellationToken)
    {
        if (!File.Exists(dll))
        {
            throw new InvalidOperationException($"Server not built: {dll} is missing.");
        }

        // A free port is free when it is picked, not necessarily when the server binds it: another process on the box
        // can take it in between. The server then exits at once saying so, and another port is picked.
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await StartOnceAsync(dll, arguments, environment, onLine, cancellationToken);
            }
            catch (PortTakenException) when (attempt < PortAttempts)
            {
            }
        }
    }

    private static async Task<ServerProcess> StartOnceAsync(
        string dll,
        IEnumerable<string> arguments,
        IReadOnlyDictionary<string, string>? environment,
        Action<string>? onLine,
        CancellationToken cancellationToken)
    {
        var server = new ServerProcess(FreePort(), onLine);
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = Path.GetDirectoryName(dll)!,
        };
        foreach (var argument in (string[])[dll, "--urls", $"http://{server.Host}:{server.Port}", .. arguments])
        {
            start.ArgumentList.Add(argument);
        }

        start.Environment["ASPNETCORE_ENVIRONMENT"] = "Development";
        start.Environment["DOTNET_ENVIRONMENT"] = "Development";
        start.Environment["DOTNET_NOLOGO"] = "1";
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[name] = value;
        }

        var process = new Process { StartInfo = start, EnableRaisingEvents = true };
        server._process = process;
        process.OutputDataReceived += (_, e) => server.Capture(e.Data);
        process.ErrorDataReceived += (_, e) => server.Capture(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        try
        {
            await server.WaitUntilReadyAsync(cancellationToken);
            return server;
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_process is null)
        {
            return;
        }

        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
                await _process.WaitForExitAsync(timeout.Token);
            }
        }
        catch (Exception ex) when (ex is InvalidOperationException or OperationCanceledException)
        {
        }
        finally
        {
            _process.Dispose();
            _process = null;
        }
    }

    private async Task WaitUntilReadyAsync(CancellationToken cancellationToken)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var clock = Stopwatch.StartNew();
        Exception? last = null;
        while (clock.Elapsed < StartTimeout)
        {
            if (_process!.HasExited)
            {
                await _process.WaitForExitAsync(cancellationToken); // its last lines, which say why, are read by now
                var message = $"Server {Path.GetFileName(_process.StartInfo.ArgumentList[0])} exited with code {_process.ExitCode} before answering GET /time:{Environment.NewLine}{OutputTail}";
                throw PortTakenException.Says(OutputTail) ? new PortTakenException(message) : new InvalidOperationException(message);
            }

            try
            {
                using var response = await http.GetAsync(new Uri(BaseUri, "time"), cancellationToken);
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    return;
                }

                last = new InvalidOperationException($"GET /time answered {(int)response.StatusCode}");
            }
            catch (Exception ex) when ((ex is HttpRequestException or TaskCanceledException) && !cancellationToken.IsCancellationRequested)
            {
                last = ex;
            }

            await Task.Delay(100, cancellationToken);
        }

        throw new InvalidOperationException($"Server {Path.GetFileName(_process!.StartInfo.ArgumentList[0])} did not answer GET /time within {StartTimeout} (last: {last?.Message}):{Environment.NewLine}{OutputTail}");
    }

    private void Capture(string? line)
    {
        if (line is null)
        {
            return;
        }

        _onLine?.Invoke(line);
        _output.Enqueue(line);
        while (_output.Count > KeptLines && _output.TryDequeue(out _))
        {
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static string FindRepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "TokenWire.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"Cannot find the repository root (TokenWire.sln) above {AppContext.BaseDirectory}");
    }
}
