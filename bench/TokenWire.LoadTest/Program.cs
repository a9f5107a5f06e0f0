using System.Runtime.InteropServices;
using TokenWire.LoadTest;

// Fixed-rate fan-out load test over real WebSockets on loopback: per scenario, STREAMS channels each with one publisher
// and SUBSCRIBERS subscribers, against TokenWire (Ably protocol v6, JSON and MessagePack) and against the raw Kestrel
// fan-out baseline. Results go to stdout (one line per run, then markdown tables); progress and server warnings to stderr.
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

var serverDll = options.Url is null ? options.ServerDll ?? Binaries.TokenWireServer() : null;
if (options.Url is null && (serverDll is null || !File.Exists(serverDll)))
{
    Console.Error.WriteLine("error: TokenWire.Server.dll not found; build it (dotnet build -c Release src/TokenWire.Server) or pass --server-dll / --url");
    return 2;
}

var rawDll = options.Baseline ? options.RawDll ?? Binaries.RawFanout() : null;
if (options.Baseline && (rawDll is null || !File.Exists(rawDll)))
{
    Console.Error.WriteLine("error: TokenWire.RawFanout.dll not found; build it (dotnet build -c Release bench/TokenWire.RawFanout), pass --raw-dll, or --baseline none");
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

var timing = options.Timing;
Console.WriteLine($"# TokenWire.LoadTest: {Environment.ProcessorCount} cores, {RuntimeInformation.FrameworkDescription}, decode={options.Decode.ToString().ToLowerInvariant()}, " +
    $"warmup={timing.Warmup.TotalSeconds:0.#}s duration={timing.Duration.TotalSeconds:0.#}s drain<={timing.Drain.TotalSeconds:0.#}s, server={options.Url?.ToString() ?? serverDll}" +
    (options.Url is null ? $", nodes={options.Nodes} engine={(options.Redis ? "redis" : "embedded")}" : "") +
    $", baseline={rawDll ?? "none"}" +
    string.Concat(options.ServerEnvironment.Select(e => $" {e.Key}={e.Value}")));

if (options.Idle > 0)
{
    return await new IdleMemory(options, serverDll, rawDll, Console.Out, Console.Error).RunAsync(stop.Token);
}

var bench = new Bench(options, serverDll, rawDll, Console.Out, Console.Error);
if (options.Sweep)
{
    return await new Sweep(options, bench, Console.Out).RunAsync(stop.Token);
}

var results = new List<ScenarioResult>();
var failures = 0;
foreach (var scenario in options.Scenarios)
{
    if (stop.IsCancellationRequested)
    {
        break;
    }

    var result = await bench.RunAsync(scenario, timing, options.RetryBusy, stop.Token);
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

    var slowTable = ScenarioResult.SlowTable(results, options.OutboundQueueBytes);
    if (slowTable.Length > 0)
    {
        Console.WriteLine();
        Console.Write(slowTable);
    }

    // Against each baseline that ran (raw's table first, as without raw-ack), then raw-ack against raw.
    var withoutSlow = results.Where(r => r.Scenario.Slow == 0).ToList();
    foreach (var table in options.Baselines.Select(b => ScenarioResult.ComparisonTable(withoutSlow, b)).Append(ScenarioResult.AckCostTable(withoutSlow)))
    {
        if (table.Length > 0)
        {
            Console.WriteLine();
            Console.Write(table);
        }
    }
}

return failures == 0 ? 0 : 1;
