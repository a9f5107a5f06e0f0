using System.Diagnostics;
using System.Globalization;

namespace TokenWire.LoadTest;

/// <summary>
/// <c>--sweep</c>: for the raw baseline and each TokenWire format, the highest offered rate (streams × RATE ×
/// subscribers, 1 × R × 100 by default) at which a short run keeps p99 under the threshold with nothing lost,
/// duplicated, reordered or dropped. Per server the rate doubles from the start until a probe fails, then is bisected
/// between the highest pass and the lowest failure until they are within 10 %; a rate fails only when two probes in a
/// row at it fail (one stall of a shared machine fails a short probe at any rate). The servers' probes alternate, so on
/// a shared machine they see the same background load; each probe gets fresh servers. The time budget is shared
/// equally; a server's sweep stops rather than start a probe that would not fit in what is left of its share.
/// </summary>
public sealed class Sweep(LoadTestOptions options, Bench bench, TextWriter output)
{
    public async Task<int> RunAsync(CancellationToken cancellationToken)
    {
        var targets = (options.Baseline ? options.Formats.Prepend(Target.Raw) : options.Formats).ToList();
        var share = options.SweepBudget / targets.Count;
        var shape = options.SweepShape;
        var maxRate = LoadTestOptions.MaxRate / shape.Streams;
        output.WriteLine(string.Create(
            CultureInfo.InvariantCulture,
            $"# sweep: {shape.Streams} stream(s) x RATE x {shape.Subscribers} subscribers; pass = p99 < {options.SweepP99Ms:0.#} ms and nothing lost/duplicated/reordered/dropped; " +
            $"from {options.SweepStart:0} msg/s, doubling then bisecting to 10 %; a failure is confirmed by a second probe; probes alternate between servers; {share.TotalSeconds:0} s per server"));
        var sweeps = targets.Select(t => new Search(new Scenario(shape, t), Math.Min(options.SweepStart, maxRate), maxRate)).ToList();
        while (!cancellationToken.IsCancellationRequested && sweeps.Any(s => s.Stop is null))
        {
            foreach (var sweep in sweeps.Where(s => s.Stop is null))
            {
                if (sweep.Elapsed + sweep.LongestProbe > share && sweep.Probes > 0)
                {
                    sweep.Stop = "time budget";
                    continue;
                }

                var clock = Stopwatch.StartNew();
                var scenario = sweep.Scenario with { Shape = shape with { Rate = sweep.Rate } };
                var (result, verdict) = await ProbeAsync(scenario, first: true, cancellationToken);
                var runs = 1;

                // On a shared box one stall of the whole machine fails a short probe at any rate: a rate fails only
                // when a second probe right after fails too (if the share of the budget leaves room for it).
                if (verdict is not null && !cancellationToken.IsCancellationRequested && sweep.Elapsed + (2 * clock.Elapsed) <= share)
                {
                    (result, verdict) = await ProbeAsync(scenario, first: false, cancellationToken);
                    runs++;
                }

                sweep.Record(result, verdict, runs, clock.Elapsed);
                if (cancellationToken.IsCancellationRequested)
                {
                    sweep.Stop ??= "cancelled";
                }
            }
        }

        output.WriteLine();
        output.WriteLine("| server | highest passing rate (msg/s) | its deliveries/s | its p50 / p99 ms | lowest failing rate (msg/s) | why it failed | runs | seconds | stopped because |");
        output.WriteLine("|---|---:|---:|---:|---:|---|---:|---:|---|");
        foreach (var s in sweeps)
        {
            output.WriteLine(string.Create(
                CultureInfo.InvariantCulture,
                $"| {s.Scenario.TargetName} | {Rate(s.PassRate)} | {(s.Pass is { } p ? p.DeliveriesPerSecond.ToString("0", CultureInfo.InvariantCulture) : "–")} | " +
                $"{(s.Pass is { } q ? $"{q.P50Ms:0.00} / {q.P99Ms:0.00}" : "–")} | {Rate(s.FailRate)} | {s.FailReason ?? "–"} | {s.Probes} | {s.Elapsed.TotalSeconds:0} | {s.Stop} |"));
        }

        var raw = sweeps.FirstOrDefault(s => s.Scenario.IsRaw);
        foreach (var s in sweeps.Where(s => !s.Scenario.IsRaw && raw?.PassRate is > 0))
        {
            output.WriteLine($"TokenWire {s.Scenario.TargetName} sustains {ScenarioResult.Ratio(s.PassRate, raw!.PassRate)} the raw baseline's rate");
        }

        return sweeps.All(s => s.Probes > 0) ? 0 : 1;
    }

    private async Task<(ScenarioResult? Result, string? Verdict)> ProbeAsync(Scenario scenario, bool first, CancellationToken cancellationToken)
    {
        var result = await bench.RunAsync(scenario, options.Timing, options.RetryBusy, cancellationToken);
        var verdict = Verdict(result);
        output.WriteLine(string.Create(
            CultureInfo.InvariantCulture,
            $"sweep server={scenario.TargetName} offered={scenario.Shape.Rate:0}/s {(first ? "" : "(confirming) ")}{(verdict is null ? "PASS" : $"FAIL ({verdict})")}: {result?.ToLine() ?? "run failed"}"));
        return (result, verdict);
    }

    /// <summary>Null when the probe passed, else why it did not.</summary>
    private string? Verdict(ScenarioResult? result)
    {
        if (result is null)
        {
            return "run failed";
        }

        if (!result.Clean)
        {
            return $"lost {result.Lost}, dup {result.Duplicates}, reordered {result.Reordered}, bad {result.BadPayloads}, dropped {result.EndedEarly}, nacks {result.Nacks}";
        }

        return result.LatencySamples == 0 || result.P99Ms >= options.SweepP99Ms
            ? string.Create(CultureInfo.InvariantCulture, $"p99 {result.P99Ms:0.0} ms")
            : null;
    }

    private static string Rate(double? rate) => rate is { } r ? r.ToString("0", CultureInfo.InvariantCulture) : "–";

    /// <summary>One server's search: double until a failure, then bisect between the highest pass and the lowest failure.</summary>
    private sealed class Search(Scenario scenario, double startRate, double maxRate)
    {
        public Scenario Scenario { get; } = scenario;

        /// <summary>The next rate to probe.</summary>
        public double Rate { get; private set; } = startRate;

        public double? PassRate { get; private set; }

        public ScenarioResult? Pass { get; private set; }

        public double? FailRate { get; private set; }

        public string? FailReason { get; private set; }

        /// <summary>Runs so far, confirming probes included.</summary>
        public int Probes { get; private set; }

        public TimeSpan Elapsed { get; private set; }

        public TimeSpan LongestProbe { get; private set; }

        /// <summary>Why the search ended; null while it goes on.</summary>
        public string? Stop { get; set; }

        /// <param name="runs">Probes run at this rate (2 when a failure was confirmed or overturned).</param>
        public void Record(ScenarioResult? result, string? verdict, int runs, TimeSpan took)
        {
            Probes += runs;
            Elapsed += took;
            LongestProbe = took > LongestProbe ? took : LongestProbe;
            if (verdict is null)
            {
                PassRate = Rate;
                Pass = result;
            }
            else
            {
                FailRate = Rate;
                FailReason = verdict;
            }

            if (FailRate is not { } high)
            {
                if (Rate >= maxRate)
                {
                    Stop = "reached the tool's rate cap";
                }

                Rate = Math.Min(Rate * 2, maxRate);
                return;
            }

            if (PassRate is not { } low)
            {
                if (high <= 2)
                {
                    Stop = "failed at every rate tried";
                }

                Rate = Math.Round(high / 2);
                return;
            }

            if (high - low <= 0.1 * low)
            {
                Stop = "within 10 %";
            }

            Rate = Math.Round((low + high) / 2);
        }
    }
}
