using System.Runtime.InteropServices;
using TokenWire.LoadTest;

// Fixed-rate fan-out load test: N subscribers on one channel, one publisher, real WebSockets on loopback.
// Results go to stdout (one line per scenario, then a markdown table); progress and server warnings to stderr.
LoadTestOptions options;
try
{
    options = LoadTestOptions.Parse(args);
}
catch (ArgumentException ex)
{
    Console.Error.WriteLine($"error: {ex.Message}\n\n{LoadTestOptions.Usage}");
    return 2;
}

if (options.Help)
{
    Console.WriteLine(LoadTestOptions.Usage);
    return 0;
}

var serverDll = options.Url is null ? options.ServerDll ?? ServerProcess.FindServerDll() : null;
if (options.Url is null && (serverDll is null || !File.Exists(serverDll)))
{
    Console.Error.WriteLine("error: TokenWire.Server.dll not found; build it (dotnet build -c Release src/TokenWire.Server) or pass --server-dll / --url");
    return 2;
}

using var stop = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    stop.Cancel();
};

ThreadPool.GetMinThreads(out var workers, out var io);
ThreadPool.SetMinThreads(Math.Max(workers, 8), io);

Console.WriteLine($"# TokenWire.LoadTest: {Environment.ProcessorCount} cores, {RuntimeInformation.FrameworkDescription}, decode={options.Decode.ToString().ToLowerInvariant()}, " +
    $"warmup={options.Warmup.TotalSeconds:0.#}s duration={options.Duration.TotalSeconds:0.#}s, server={options.Url?.ToString() ?? serverDll}" +
    (options.Url is null ? $", nodes={options.Nodes} engine={(options.Redis ? "redis" : "embedded")}" : "") +
    string.Concat(options.ServerEnvironment.Select(e => $" {e.Key}={e.Value}")));

var runner = new ScenarioRunner(options, Console.Error);
var results = new List<ScenarioResult>();
var failures = 0;
foreach (var scenario in options.Scenarios)
{
    if (stop.IsCancellationRequested)
    {
        break;
    }

    ScenarioResult? result = null;
    for (var attempt = 0; attempt <= options.RetryBusy && !stop.IsCancellationRequested; attempt++)
    {
        if (options.QuietWait > TimeSpan.Zero && !await MachineCpu.WaitForQuietAsync(options.QuietWait, 0.2, stop.Token))
        {
            Console.Error.WriteLine($"  the machine did not go quiet within {options.QuietWait.TotalSeconds:0} s; running anyway");
        }

        Console.Error.WriteLine($"scenario: {scenario.Subscribers} subscribers, {scenario.Rate:0} msg/s, {scenario.FormatName}" + (attempt > 0 ? $" (retry {attempt})" : ""));
        var attemptResult = await RunOneAsync(scenario);
        if (attemptResult is null)
        {
            break;
        }

        // Of several attempts, keep the one least disturbed by other processes.
        if (result is null || attemptResult.OtherCores < result.OtherCores)
        {
            result = attemptResult;
        }

        if (!attemptResult.MachineWasBusy)
        {
            break;
        }

        Console.Error.WriteLine($"  warning: other processes used {attemptResult.OtherCores:0.00} cores during this scenario; its numbers are not clean");
    }

    if (result is null)
    {
        failures++;
        continue;
    }

    results.Add(result);
    Console.WriteLine(result.ToLine());
}

if (results.Count > 0)
{
    Console.WriteLine();
    Console.WriteLine(ScenarioResult.MarkdownHeader);
    foreach (var result in results)
    {
        Console.WriteLine(result.ToMarkdownRow());
    }
}

return failures == 0 ? 0 : 1;

async Task<ScenarioResult?> RunOneAsync(Scenario scenario)
{
    ServerCluster? server = null;
    try
    {
        // Fresh servers (and Redis) per scenario: no channel history or GC debt carried from the previous one.
        server = serverDll is null ? null : await ServerCluster.StartAsync(serverDll, options.Nodes, options.Redis, options.ServerEnvironment, stop.Token);
        return await runner.RunAsync(scenario, server?.Nodes ?? [options.Url!], server, stop.Token);
    }
    catch (Exception ex) when (ex is not OutOfMemoryException)
    {
        Console.WriteLine($"subscribers={scenario.Subscribers,-5} format={scenario.FormatName,-7} offered={scenario.Rate,6:0}/s FAILED: {ex.GetType().Name}: {ex.Message}");
        return null;
    }
    finally
    {
        if (server is not null)
        {
            var problems = server.DrainProblems();
            foreach (var line in problems.Take(5))
            {
                Console.Error.WriteLine($"  [server] {line}");
            }

            if (problems.Count > 5)
            {
                Console.Error.WriteLine($"  [server] … {problems.Count - 5} more warnings/errors");
            }

            await server.DisposeAsync();
        }
    }
}
