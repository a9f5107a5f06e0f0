namespace TokenWire.LoadTest;

/// <summary>
/// Runs one scenario on fresh servers: the raw baseline for <see cref="Target.Raw"/>, else the TokenWire node(s)
/// (or the running server of <c>--url</c>). Waits for a quiet machine and retries disturbed runs when asked to, and
/// passes on what the servers logged as warnings or errors.
/// </summary>
public sealed class Bench(LoadTestOptions options, string? serverDll, string? rawDll, TextWriter output, TextWriter progress)
{
    private readonly ScenarioRunner _runner = new(options, progress);

    /// <returns>Of the attempts, the one least disturbed by other processes; null when the run failed.</returns>
    public async Task<ScenarioResult?> RunAsync(Scenario scenario, Timing timing, int retryBusy, CancellationToken cancellationToken)
    {
        ScenarioResult? result = null;
        for (var attempt = 0; attempt <= retryBusy && !cancellationToken.IsCancellationRequested; attempt++)
        {
            if (options.QuietWait > TimeSpan.Zero && !await MachineCpu.WaitForQuietAsync(options.QuietWait, 0.2, cancellationToken))
            {
                progress.WriteLine($"  the machine did not go quiet within {options.QuietWait.TotalSeconds:0} s; running anyway");
            }

            var shape = scenario.Shape;
            progress.WriteLine($"run: {shape.Streams} streams x {shape.Rate:0.##} msg/s x {shape.Subscribers} subscribers, {scenario.TargetName}" + (attempt > 0 ? $" (retry {attempt})" : ""));
            var attemptResult = await RunOnceAsync(scenario, timing, cancellationToken);
            if (attemptResult is null)
            {
                break;
            }

            if (result is null || attemptResult.OtherCores < result.OtherCores)
            {
                result = attemptResult;
            }

            if (!attemptResult.MachineWasBusy)
            {
                break;
            }

            progress.WriteLine($"  warning: other processes used {attemptResult.OtherCores:0.00} cores during this run; its numbers are not clean");
        }

        return result;
    }

    private async Task<ScenarioResult?> RunOnceAsync(Scenario scenario, Timing timing, CancellationToken cancellationToken)
    {
        ServerCluster? server = null;
        ScenarioResult? result;
        var slowConsumerWarnings = 0;
        try
        {
            // Fresh servers (and Redis) per run: no channel history or GC debt carried from the previous one.
            server = scenario.IsRaw
                ? await ServerCluster.StartRawAsync(rawDll ?? throw new InvalidOperationException("no raw baseline dll"), cancellationToken)
                : serverDll is null ? null : await ServerCluster.StartTokenWireAsync(serverDll, options.Nodes, options.Redis, options.ServerEnvironment, cancellationToken);
            result = await _runner.RunAsync(scenario, timing, server?.Nodes ?? [options.Url!], server, cancellationToken);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            output.WriteLine($"shape={scenario.Shape,-10} server={scenario.TargetName,-7} FAILED: {ex.GetType().Name}: {ex.Message}");
            return null;
        }
        finally
        {
            if (server is not null)
            {
                var problems = server.DrainProblems();

                // Both servers log each slow-consumer disconnect as a warning ("… disconnecting slow consumer", "Slow consumer: …").
                slowConsumerWarnings = problems.Count(line => line.Contains("slow consumer", StringComparison.OrdinalIgnoreCase));
                foreach (var line in problems.Take(5))
                {
                    progress.WriteLine($"  [server] {line}");
                }

                if (problems.Count > 5)
                {
                    progress.WriteLine($"  [server] … {problems.Count - 5} more warnings/errors");
                }

                await server.DisposeAsync();
            }
        }

        return result with { SlowConsumerWarnings = slowConsumerWarnings };
    }
}
