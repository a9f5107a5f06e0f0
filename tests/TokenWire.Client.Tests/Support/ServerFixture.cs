using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using TokenWire.Client;

namespace TokenWire.Client.Tests.Support;

/// <summary>
/// A real TokenWire server process, started once per collection from the Release build
/// (<c>src/TokenWire.Server/bin/Release/net10.0/TokenWire.Server.dll</c>, or <c>TOKENWIRE_SERVER_DLL</c>) on a free
/// port, in the Development environment so the development keys exist. Ready once <c>GET /time</c> answers.
/// </summary>
public class ServerFixture : IAsyncLifetime
{
    public const string RootKey = "dev.root:dev-root-secret";
    public const string SubscribeOnlyKey = "dev.sub:dev-sub-secret";

    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(30);
    private readonly ConcurrentQueue<string> _output = new();
    private Process? _process;

    public string Host => "127.0.0.1";

    public int Port { get; private set; }

    /// <summary>Client options for this server: plain HTTP/WS on loopback with the root key.</summary>
    public RealtimeClientOptions Options(bool binary, string key = RootKey) => RealtimeClientOptions.Default with
    {
        Key = key,
        Endpoint = Host,
        Port = Port,
        Tls = false,
        UseBinaryProtocol = binary,

        // Failed attempts against a local server are retried quickly; timing is never asserted.
        DisconnectedRetryTimeout = TimeSpan.FromSeconds(1),
    };

    /// <summary>Extra command-line configuration for the server (<c>--TokenWire:Section:Key=value</c>).</summary>
    protected virtual IEnumerable<string> ExtraArguments => [];

    /// <summary>The last lines the server wrote, for failure messages.</summary>
    public string OutputTail => string.Join(Environment.NewLine, _output.TakeLast(60));

    public async Task InitializeAsync()
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

        Port = FreePort();
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = Path.GetDirectoryName(dll)!,
        };
        start.ArgumentList.Add(dll);
        start.ArgumentList.Add("--urls");
        start.ArgumentList.Add($"http://{Host}:{Port}");
        foreach (var argument in ExtraArguments)
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
        var deadline = Stopwatch.StartNew();
        Exception? last = null;
        while (deadline.Elapsed < StartTimeout)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"TokenWire server exited with code {_process.ExitCode} before answering GET /time:{Environment.NewLine}{OutputTail}");
            }

            try
            {
                using var response = await http.GetAsync(new Uri($"http://{Host}:{Port}/time"));
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

        _output.Enqueue(line);
        while (_output.Count > 500 && _output.TryDequeue(out _))
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
public sealed class ServerCollection : ICollectionFixture<ServerFixture>
{
    public const string Name = "tokenwire-server";
}

/// <summary>A server announcing maxIdleInterval = 1 s (heartbeats every 0.5 s), so idle-timeout tests run in seconds.</summary>
public sealed class ShortIdleServerFixture : ServerFixture
{
    protected override IEnumerable<string> ExtraArguments => ["--TokenWire:Connection:MaxIdleInterval=00:00:01"];
}

[CollectionDefinition(Name)]
public sealed class ShortIdleServerCollection : ICollectionFixture<ShortIdleServerFixture>
{
    public const string Name = "tokenwire-server-short-idle";
}
