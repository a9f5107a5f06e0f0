using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace TokenWire.Server.Tests.Support;

/// <summary>
/// A real TokenWire server process (the Release build of src/TokenWire.Server, or <c>TOKENWIRE_SERVER_DLL</c>) on a
/// free loopback port, in the Development environment (so the dev keys exist) and with sandbox provisioning on, as
/// in TokenWire.Client.Tests' ServerFixture. Every line it writes is kept; lines at error level or above
/// (<c>fail:</c>, <c>crit:</c>) are also collected separately, since hardening tests assert there are none.
/// </summary>
public sealed class ServerProcessFixture : IAsyncLifetime
{
    public const string RootKey = "dev.root:dev-root-secret";

    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(30);
    private readonly ConcurrentQueue<string> _output = new();
    private readonly ConcurrentQueue<string> _errors = new();
    private Process? _process;
    private bool _inError;

    public string Host => "127.0.0.1";

    public int Port { get; private set; }

    public Uri BaseUri => new($"http://{Host}:{Port}/");

    public bool HasExited => _process is null || _process.HasExited;

    /// <summary>Error-level log entries (the <c>fail:</c>/<c>crit:</c> line and the lines under it).</summary>
    public IReadOnlyCollection<string> ErrorLines => _errors;

    public string OutputTail => string.Join(Environment.NewLine, _output.TakeLast(80));

    public async Task InitializeAsync()
    {
        var dll = Environment.GetEnvironmentVariable("TOKENWIRE_SERVER_DLL") is { Length: > 0 } configured
            ? configured
            : Path.Combine(FindRepositoryRoot(), "src", "TokenWire.Server", "bin", "Release", "net10.0", "TokenWire.Server.dll");
        if (!File.Exists(dll))
        {
            throw new InvalidOperationException($"TokenWire server not built: {dll} is missing. Run `dotnet build TokenWire.sln -c Release` first.");
        }

        Port = FreePort();
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = Path.GetDirectoryName(dll)!,
        };
        foreach (var argument in (string[])[dll, "--urls", $"http://{Host}:{Port}", "--sandbox", "--TokenWire:Agent:Enabled=false"])
        {
            start.ArgumentList.Add(argument);
        }

        start.Environment["ASPNETCORE_ENVIRONMENT"] = "Development";
        start.Environment["DOTNET_ENVIRONMENT"] = "Development";
        start.Environment["DOTNET_NOLOGO"] = "1";

        _process = new Process { StartInfo = start, EnableRaisingEvents = true };
        _process.OutputDataReceived += (_, e) => Capture(e.Data);
        _process.ErrorDataReceived += (_, e) => Capture(e.Data);
        _process.Start();
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();

        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var clock = Stopwatch.StartNew();
        Exception? last = null;
        while (clock.Elapsed < StartTimeout)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"TokenWire server exited with code {_process.ExitCode} before answering GET /time:{Environment.NewLine}{OutputTail}");
            }

            try
            {
                using var response = await http.GetAsync(new Uri(BaseUri, "time"));
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    return;
                }

                last = new InvalidOperationException($"GET /time answered {(int)response.StatusCode}");
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
            {
                last = ex;
            }

            await Task.Delay(100);
        }

        await DisposeAsync();
        throw new InvalidOperationException($"TokenWire server did not answer GET /time within {StartTimeout} (last: {last?.Message}):{Environment.NewLine}{OutputTail}");
    }

    public async Task DisposeAsync()
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

    private void Capture(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_output)
        {
            CaptureLocked(line);
        }
    }

    private void CaptureLocked(string line)
    {
        // The console logger writes "fail: Category[id]" and then the message and exception indented below it.
        if (line.StartsWith("fail:", StringComparison.Ordinal) || line.StartsWith("crit:", StringComparison.Ordinal))
        {
            _inError = true;
        }
        else if (line.Length > 0 && !char.IsWhiteSpace(line[0]))
        {
            _inError = false;
        }

        if (_inError && _errors.Count < 2000)
        {
            _errors.Enqueue(line);
        }

        _output.Enqueue(line);
        while (_output.Count > 2000 && _output.TryDequeue(out _))
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

[CollectionDefinition(Name)]
public sealed class ServerProcessCollection : ICollectionFixture<ServerProcessFixture>
{
    public const string Name = "tokenwire-server-process";
}
