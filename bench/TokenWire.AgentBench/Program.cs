using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using TokenWire.AgentBench;
using TokenWire.Client;

// dotnet run -c Release --project bench/TokenWire.AgentBench [-- --seconds 8]
// Starts a server process on a free loopback port (inbound rate limit lifted: this measures the transport), then, for each wire format:
//   1. throughput: one TokenWire.Client publishes N tokens pipelined (no await per token) and waits for every ACK;
//   2. latency: at fixed offered rates, publish→deliver time seen by a second TokenWire.Client subscribed to the channel,
//      measured from each token's scheduled send time (no coordinated omission);
//   3. append rollup (--rollup only that): one message-per-response stream of 600 appends at 150 tokens/s, the
//      publisher's appendRollupWindow 0 / 40 / 100 ms, and the deliveries per second one subscriber receives;
//   4. history (--history only that): history({ untilAttach }) of a 2,000-token response paged to its end, 30 reads after
//      --warmup reads (3; the server and the client run tier-0 JIT code for the first few hundred requests),
//      --history-limit messages a page (100, Ably's default; Ably allows up to 1,000);
//   5. resume (--resume only that): a subscriber's transport is cut, 1,000 tokens are published while its reconnect is
//      held at a loopback proxy, and the time from letting the reconnect through to the last missed token is measured,
//      --repetitions times (30) after --warmup rounds (3): cold, as a node that has just (re)started serves its first
//      resumes; then again in the same two processes after --warm-rounds (100) more unmeasured rounds per format, warm,
//      as a long-running node and client serve them (0 skips the warm pass).
// --server-dll <path> starts that build instead of src/TokenWire.Server's Release output (pin a copy while others rebuild).
var seconds = args.SkipWhile(a => a != "--seconds").Skip(1).Select(a => int.Parse(a, CultureInfo.InvariantCulture)).FirstOrDefault(8);
var warmup = args.SkipWhile(a => a != "--warmup").Skip(1).Select(a => int.Parse(a, CultureInfo.InvariantCulture)).FirstOrDefault(3);
var historyLimit = args.SkipWhile(a => a != "--history-limit").Skip(1).Select(a => int.Parse(a, CultureInfo.InvariantCulture)).FirstOrDefault(100);
var repetitions = args.SkipWhile(a => a != "--repetitions").Skip(1).Select(a => int.Parse(a, CultureInfo.InvariantCulture)).FirstOrDefault(30);
var warmRounds = args.SkipWhile(a => a != "--warm-rounds").Skip(1).Select(a => int.Parse(a, CultureInfo.InvariantCulture)).FirstOrDefault(100);
var port = FreePort();
var serverDll = args.SkipWhile(a => a != "--server-dll").Skip(1).Select(Path.GetFullPath).FirstOrDefault()
    ?? Path.Combine(RepoRoot(), "src", "TokenWire.Server", "bin", "Release", "net10.0", "TokenWire.Server.dll");
using var server = Process.Start(new ProcessStartInfo("dotnet", [serverDll, "--urls", $"http://127.0.0.1:{port}", "--TokenWire:Agent:Enabled=false", "--Logging:LogLevel:Default=Warning", "--TokenWire:Limits:MaxInboundRate=1000000"])
{
    Environment = { ["ASPNETCORE_ENVIRONMENT"] = "Development" },
    RedirectStandardOutput = true,
    RedirectStandardError = true,
}) ?? throw new InvalidOperationException("could not start the server");
server.OutputDataReceived += (_, _) => { };
server.ErrorDataReceived += (_, _) => { };
server.BeginOutputReadLine();
server.BeginErrorReadLine();
try
{
    await WaitForServerAsync(port);
    Console.WriteLine($"machine: {Environment.ProcessorCount} cores, .NET {Environment.Version}; server on 127.0.0.1:{port}");
    if (args.Contains("--resume"))
    {
        Console.WriteLine("| format | processes | missed tokens | rounds | resumed (same connection id) | all missed tokens once, in order | release → CONNECTED p50 / p90 ms | release → re-ATTACHED p50 / p90 ms | release → first missed token p50 / p90 ms | release → last missed token p50 / p90 / max ms |");
        Console.WriteLine("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |");

        // Cold first (fresh processes: the first resumes onto a node that has just started), then warm in the same processes.
        foreach (var (warm, rounds) in warmRounds > 0 ? new[] { (false, warmup), (true, warmRounds) } : [(false, warmup)])
        {
            foreach (var binary in new[] { true, false })
            {
                var options = RealtimeClientOptions.Default with { Key = "dev.root:dev-root-secret", Endpoint = "127.0.0.1", Port = port, Tls = false, UseBinaryProtocol = binary };
                var r = await ResumeCatchUp.MeasureAsync(options, port, missed: 1_000, repetitions, rounds);
                var processes = warm ? $"warm ({rounds} more rounds first)" : $"cold ({rounds} warm-up rounds)";
                Console.WriteLine($"| {(binary ? "msgpack" : "json")} | {processes} | 1,000 | {r.Repetitions} | {r.Resumed} | {r.Exact} | {r.ConnectedP50Ms:0.0} / {r.ConnectedP90Ms:0.0} | {r.AttachedP50Ms:0.0} / {r.AttachedP90Ms:0.0} | {r.FirstP50Ms:0.0} / {r.FirstP90Ms:0.0} | {r.LastP50Ms:0.0} / {r.LastP90Ms:0.0} / {r.LastMaxMs:0.0} |");
            }
        }

        return;
    }

    if (args.Contains("--history"))
    {
        Console.WriteLine($"limit {historyLimit}, {warmup} warm-up reads");
        Console.WriteLine("| format | response as | items | pages | first read ms | p50 ms | p90 ms | raw HTTP, not decoded, p50 ms |");
        Console.WriteLine("| --- | --- | --- | --- | --- | --- | --- | --- |");
        foreach (var binary in new[] { true, false })
        {
            var options = RealtimeClientOptions.Default with { Key = "dev.root:dev-root-secret", Endpoint = "127.0.0.1", Port = port, Tls = false, UseBinaryProtocol = binary };
            foreach (var perResponse in new[] { false, true })
            {
                var r = await HistoryReads.MeasureAsync(options, perResponse, warmup, historyLimit);
                Console.WriteLine($"| {(binary ? "msgpack" : "json")} | {(perResponse ? "one message, 2,000 appends" : "2,000 messages")} | {r.Items} | {r.Pages} | {r.FirstMs:0.0} | {r.P50Ms:0.0} | {r.P90Ms:0.0} | {r.RawP50Ms:0.0} |");
            }
        }

        return;
    }

    if (args.Contains("--rollup"))
    {
        Console.WriteLine("| format | appendRollupWindow | appends | deliveries | seconds | deliveries/s per subscriber | text exact |");
        Console.WriteLine("| --- | --- | --- | --- | --- | --- | --- |");
        foreach (var binary in new[] { true, false })
        {
            var options = RealtimeClientOptions.Default with { Key = "dev.root:dev-root-secret", Endpoint = "127.0.0.1", Port = port, Tls = false, UseBinaryProtocol = binary };
            foreach (var window in new[] { 0, 40, 100 })
            {
                var (appends, deliveries, secs, exact) = await Rollup.StreamAsync(options, window, tokensPerSecond: 150, tokens: 600);
                Console.WriteLine($"| {(binary ? "msgpack" : "json")} | {window} ms | {appends} | {deliveries} | {secs:0.0} | {deliveries / secs:0.0} | {exact} |");
            }
        }

        return;
    }

    Console.WriteLine("| format | scenario | tokens | achieved tokens/s | p50 ms | p99 ms | max ms | order violations |");
    Console.WriteLine("| --- | --- | --- | --- | --- | --- | --- | --- |");
    foreach (var binary in new[] { true, false })
    {
        var format = binary ? "msgpack" : "json";
        var options = RealtimeClientOptions.Default with { Key = "dev.root:dev-root-secret", Endpoint = "127.0.0.1", Port = port, Tls = false, UseBinaryProtocol = binary };
        // Warm-up round first, so tiered JIT compilation is not measured as the first format's slowness.
        await Scenarios.ThroughputAsync(options, tokens: 20_000);
        var throughput = await Scenarios.ThroughputAsync(options, tokens: 20_000);
        Console.WriteLine($"| {format} | pipelined, as fast as ACKs come | {throughput.Tokens} | {throughput.TokensPerSecond:N0} | – | – | – | – |");
        foreach (var rate in new[] { 200, 1_000, 5_000 })
        {
            var result = await Scenarios.LatencyAsync(options, rate, TimeSpan.FromSeconds(seconds));
            Console.WriteLine($"| {format} | fixed {rate:N0} tokens/s | {result.Tokens} | {result.TokensPerSecond:N0} | {result.P50Ms:0.0} | {result.P99Ms:0.0} | {result.MaxMs:0.0} | {result.OrderViolations} |");
        }
    }
}
finally
{
    server.Kill(entireProcessTree: true);
    await server.WaitForExitAsync();
}

static int FreePort()
{
    using var listener = new TcpListener(IPAddress.Loopback, 0);
    listener.Start();
    return ((IPEndPoint)listener.LocalEndpoint).Port;
}

static async Task WaitForServerAsync(int port)
{
    using var http = new HttpClient();
    for (var i = 0; i < 300; i++)
    {
        try
        {
            if ((await http.GetAsync(new Uri($"http://127.0.0.1:{port}/time"))).IsSuccessStatusCode)
            {
                return;
            }
        }
        catch (HttpRequestException)
        {
        }

        await Task.Delay(100);
    }

    throw new TimeoutException("the server did not start");
}

static string RepoRoot()
{
    var directory = new DirectoryInfo(AppContext.BaseDirectory);
    while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "TokenWire.sln")))
    {
        directory = directory.Parent;
    }

    return directory?.FullName ?? throw new InvalidOperationException("TokenWire.sln not found");
}
