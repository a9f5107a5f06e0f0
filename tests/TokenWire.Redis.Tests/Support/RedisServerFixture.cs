using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using StackExchange.Redis;

namespace TokenWire.Redis.Tests.Support;

/// <summary>
/// A real <c>redis-server</c> (no persistence) on a free loopback port, started once for the collection and stopped
/// after it. Tests isolate themselves with <see cref="UniquePrefix"/> rather than flushing. ./test.sh installs
/// redis-server; without it every test fails saying so.
/// </summary>
public sealed class RedisServerFixture : IAsyncLifetime
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "tokenwire-redis-tests-" + Guid.NewGuid().ToString("N"));
    private Process? _process;
    private ConnectionMultiplexer? _shared;

    public int Port { get; private set; }

    public string Configuration => $"127.0.0.1:{Port}";

    /// <summary>One multiplexer for tests that need a single node.</summary>
    public IConnectionMultiplexer Redis => _shared ?? throw new InvalidOperationException("redis-server is not running");

    /// <summary>A separate multiplexer: another node's own link to the same Redis. The caller disposes it.</summary>
    public async Task<ConnectionMultiplexer> ConnectAsync() => await ConnectionMultiplexer.ConnectAsync(RedisConnection.Configure(Configuration, "tokenwire-tests"));

    public static string UniquePrefix() => $"test-{Guid.NewGuid():N}:";

    public async Task InitializeAsync()
    {
        var binary = FindRedisServer() ?? throw new InvalidOperationException(
            "redis-server is not installed: the Redis engine tests need a real one. Install it with `apt-get install -y redis-server` (./test.sh does).");
        Directory.CreateDirectory(_directory);
        Port = FreePort();
        var start = new ProcessStartInfo(binary)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in new[] { "--port", Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--save", string.Empty, "--appendonly", "no", "--dir", _directory })
        {
            start.ArgumentList.Add(argument);
        }

        _process = Process.Start(start) ?? throw new InvalidOperationException("redis-server did not start");
        _process.OutputDataReceived += (_, _) => { };
        _process.ErrorDataReceived += (_, _) => { };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();

        var clock = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                _shared = await ConnectionMultiplexer.ConnectAsync($"{Configuration},abortConnect=true,connectTimeout=1000");
                await _shared.GetDatabase().PingAsync();
                return;
            }
            catch (RedisConnectionException) when (clock.Elapsed < TimeSpan.FromSeconds(20) && !_process.HasExited)
            {
                await Task.Delay(100);
            }
        }
    }

    public async Task DisposeAsync()
    {
        if (_shared is not null)
        {
            await _shared.DisposeAsync();
        }

        if (_process is { HasExited: false })
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process?.Dispose();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private static string? FindRedisServer() =>
        (Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(':')
            .Append("/usr/bin").Append("/usr/local/bin")
            .Select(dir => Path.Combine(dir, "redis-server"))
            .FirstOrDefault(File.Exists);

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

[CollectionDefinition(Name)]
public sealed class RedisCollection : ICollectionFixture<RedisServerFixture>
{
    public const string Name = "redis-server";
}
