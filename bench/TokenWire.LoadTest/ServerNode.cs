using System.Collections.Concurrent;
using System.Diagnostics;
using System.Reflection;
using TokenWire.Testing;

namespace TokenWire.LoadTest;

/// <summary>
/// A server this tool started: a dll run by <see cref="ServerProcess"/> (tests/TokenWire.Testing, the same launcher
/// the integration tests use) on a free 127.0.0.1 port, killed on dispose. Adds what a benchmark needs: the process's
/// CPU time and working set, and its warning and error log lines (e.g. slow-consumer disconnects).
/// </summary>
public sealed class ServerNode : IAsyncDisposable
{
    private readonly ConcurrentQueue<string> _problems = new();
    private ServerProcess? _server;
    private Process? _process;
    private string? _pendingLevel;

    private ServerNode()
    {
    }

    public Uri BaseUri => Server.BaseUri;

    /// <summary>Total and kernel-mode CPU time used so far.</summary>
    public (TimeSpan Total, TimeSpan Kernel) CpuTime
    {
        get
        {
            var process = Process;
            process.Refresh();
            return (process.TotalProcessorTime, process.PrivilegedProcessorTime);
        }
    }

    public long WorkingSetBytes
    {
        get
        {
            var process = Process;
            process.Refresh();
            return process.WorkingSet64;
        }
    }

    public long PeakWorkingSetBytes
    {
        get
        {
            var process = Process;
            process.Refresh();
            return process.PeakWorkingSet64;
        }
    }

    private ServerProcess Server => _server ?? throw new InvalidOperationException("not started");

    private Process Process => _process ?? throw new InvalidOperationException("not started");

    public static async Task<ServerNode> StartAsync(string dll, IEnumerable<string> arguments, IReadOnlyDictionary<string, string> environment, CancellationToken cancellationToken)
    {
        var node = new ServerNode();
        node._server = await ServerProcess.StartAsync(dll, arguments, environment, node.OnLogLine, cancellationToken);
        try
        {
            node._process = Process.GetProcessById(node._server.ProcessId);
        }
        catch
        {
            await node.DisposeAsync();
            throw;
        }

        node.DrainProblems(); // Startup warnings (development keys active) are expected.
        return node;
    }

    /// <summary>Warning and error log lines since the last call.</summary>
    public IReadOnlyList<string> DrainProblems()
    {
        var lines = new List<string>();
        while (_problems.TryDequeue(out var line))
        {
            lines.Add(line);
        }

        return lines;
    }

    public async ValueTask DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }

        _process?.Dispose();
    }

    /// <summary>Console logger output: a "warn: Category[id]" line, then the message indented on the next line.</summary>
    private void OnLogLine(string line)
    {
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
}

/// <summary>The build outputs this tool starts by default: next to its own (same configuration), from the solution root.</summary>
public static class Binaries
{
    public static string? TokenWireServer() => Find("src", "TokenWire.Server");

    public static string? RawFanout() => Find("bench", "TokenWire.RawFanout");

    private static string? Find(string folder, string project)
    {
        var configuration = typeof(Binaries).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .FirstOrDefault(a => a.Key == "TokenWire.BuildConfiguration")?.Value ?? "Release";
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "TokenWire.sln")))
            {
                var dll = Path.Combine(dir.FullName, folder, project, "bin", configuration, "net10.0", project + ".dll");
                return File.Exists(dll) ? dll : null;
            }
        }

        return null;
    }
}
