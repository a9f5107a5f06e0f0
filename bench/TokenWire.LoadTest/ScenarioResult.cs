using System.Globalization;
using System.Text;

namespace TokenWire.LoadTest;

/// <summary>
/// What one run measured. Rates are per second of the measured window; latencies in milliseconds. Server CPU and
/// memory are summed over all nodes; Redis CPU (when the nodes use Redis) is reported on its own. Wire bytes are
/// WebSocket messages plus their frame headers as this tool sent or received them (TCP/IP headers not counted).
/// </summary>
public sealed record ScenarioResult(
    Scenario Scenario,
    double PublishedPerSecond,
    double DeliveriesPerSecond,
    long LatencySamples,
    double P50Ms,
    double P99Ms,
    double MaxMs,
    double? AckP99Ms,
    double SendLagP99Ms,
    long Lost,
    long Duplicates,
    long Reordered,
    long BadPayloads,
    int EndedEarly,
    long Nacks,
    double? ServerCores,
    double? ServerKernelCores,
    double? PostConnectServerCores,
    double? RedisCores,
    double ClientCores,
    double? OtherCores,
    double? ServerMemoryMb,
    double ConnectSeconds,
    double? ServerCpuMicrosPerDelivery,
    double WireBytesPerDelivery,
    double PublishWireBytesPerMessage,
    double? ReplyWireBytesPerMessage,
    double? ServerPeakMemoryMb = null,
    SlowOutcome? SlowSubscribers = null,
    int SlowConsumerWarnings = 0)
{
    /// <summary>TokenWire's default <c>Limits:OutboundQueueBytes</c>, the per-connection bound a slow subscriber's queue is held to.</summary>
    public const long DefaultOutboundQueueBytes = 4 * 1024 * 1024;

    public const string SlowHeader =
        "| streams × msg/s × subs | server | slow subs | normal subs p50 / p99 ms | p99 without slow | p99 ratio | normal lost / dup / reordered | server peak RSS MB: run / without slow | peak RSS growth vs n × bound | slow subs disconnected: server log · seen by client (median s after start) | slow subs got | other cores: run · without |\n" +
        "|---|---|---:|---:|---:|---:|:---:|---:|---:|:---:|---:|:---:|";
    public const string MarkdownHeader =
        "| streams × msg/s × subs | server | offered deliveries/s | deliveries/s | p50 ms | p99 ms | max ms | ack p99 ms | lost / dup / reordered | dropped sockets | server CPU µs / delivery | B / delivery | CPU server / redis / client / other (cores) |\n" +
        "|---|---|---:|---:|---:|---:|---:|---:|:---:|---:|---:|---:|:---:|";

    public const string ComparisonHeader =
        "| streams × msg/s × subs | format | TokenWire p50 / p99 ms | raw p50 / p99 ms | p99 ratio | server CPU µs / delivery: TokenWire / raw | CPU ratio | B / delivery: TokenWire / raw | lost / dup / reordered: TokenWire · raw | other cores: TokenWire · raw |\n" +
        "|---|---|---:|---:|---:|---:|---:|---:|:---:|:---:|";

    /// <summary>What the acknowledgement costs the baseline itself: raw-ack's figures against raw's of the same shape.</summary>
    public const string AckCostHeader =
        "| streams × msg/s × subs | raw-ack p50 / p99 ms | raw p50 / p99 ms | p99 ratio | raw-ack ack p99 ms | server CPU µs / delivery: raw-ack / raw | CPU ratio | reply B / msg | lost / dup / reordered: raw-ack · raw | other cores: raw-ack · raw |\n" +
        "|---|---:|---:|---:|---:|---:|---:|---:|:---:|:---:|";

    /// <summary>Nothing lost, duplicated, reordered, malformed, dropped or refused.</summary>
    public bool Clean => Lost == 0 && Duplicates == 0 && Reordered == 0 && BadPayloads == 0 && EndedEarly == 0 && Nacks == 0;

    /// <summary>Something else used a noticeable share of the two cores while this run was measured.</summary>
    public bool MachineWasBusy => OtherCores > 0.25;

    public string ToLine() => ToLineWithoutSlow() + SlowLine();

    private string SlowLine() => SlowSubscribers is { } slow
        ? string.Create(
            CultureInfo.InvariantCulture,
            $" slow={slow.Count} slow-disconnected-server-log={SlowConsumerWarnings} slow-ended-client={slow.Ended} slow-ended-median={Number(slow.MedianEndedAfterSeconds, "0.0")}s slow-got={slow.DeliveredFraction:P0} slow-out-of-order={slow.OutOfOrder} slow-end-reason=\"{slow.FirstEndReason}\"")
        : string.Empty;

    private string ToLineWithoutSlow() => string.Create(
        CultureInfo.InvariantCulture,
        $"shape={Scenario.Shape,-10} server={Scenario.TargetName,-7} offered={Scenario.Shape.OfferedDeliveries,7:0}/s published={PublishedPerSecond,8:0.0}/s " +
        $"deliveries={DeliveriesPerSecond,9:0}/s p50={Ms(Latency(P50Ms))} p99={Ms(Latency(P99Ms))} max={Ms(Latency(MaxMs))} ack-p99={Ms(AckP99Ms)} " +
        $"send-lag-p99={SendLagP99Ms:0.00}ms lost={Lost} dup={Duplicates} reordered={Reordered} bad={BadPayloads} dropped-sockets={EndedEarly} nacks={Nacks} " +
        $"cpu-server={Cores(ServerCores)} cpu-server-kernel={Cores(ServerKernelCores)} cpu-server-post-connect={Cores(PostConnectServerCores)} cpu-redis={Cores(RedisCores)} cpu-client={ClientCores:0.00} cpu-other={Cores(OtherCores)} " +
        $"server-us/delivery={Number(ServerCpuMicrosPerDelivery, "0.00")} B/delivery={WireBytesPerDelivery:0.0} publish-B/msg={PublishWireBytesPerMessage:0.0} reply-B/msg={Number(ReplyWireBytesPerMessage, "0.0")} " +
        $"server-mem={(ServerMemoryMb is { } mb ? mb.ToString("0", CultureInfo.InvariantCulture) + "MB" : "n/a")} server-peak-mem={(ServerPeakMemoryMb is { } peak ? peak.ToString("0", CultureInfo.InvariantCulture) + "MB" : "n/a")} connect={ConnectSeconds:0.0}s");

    public string ToMarkdownRow() => string.Create(
        CultureInfo.InvariantCulture,
        $"| {Scenario.Shape} | {Scenario.TargetName} | {Scenario.Shape.OfferedDeliveries:0} | {DeliveriesPerSecond:0} | {Number(Latency(P50Ms), "0.00")} | {Number(Latency(P99Ms), "0.00")} | {Number(Latency(MaxMs), "0.00")} | {Number(AckP99Ms, "0.00")} | " +
        $"{Lost} / {Duplicates} / {Reordered} | {EndedEarly} | {Number(ServerCpuMicrosPerDelivery, "0.00")} | {WireBytesPerDelivery:0} | {Cores(ServerCores)} / {Cores(RedisCores)} / {ClientCores:0.00} / {Cores(OtherCores)} |");

    /// <summary>
    /// One row per TokenWire run that has a run of <paramref name="baseline"/> of the same shape: TokenWire's figures,
    /// the baseline's, and the ratios. Against <see cref="Target.Raw"/> the header is <see cref="ComparisonHeader"/>;
    /// against raw-ack it names raw-ack instead.
    /// </summary>
    public static string ComparisonTable(IReadOnlyList<ScenarioResult> results, Target baseline = Target.Raw)
    {
        var header = baseline == Target.Raw ? ComparisonHeader : ComparisonHeader.Replace("raw", Scenario.NameOf(baseline), StringComparison.Ordinal);
        var table = new StringBuilder(header).AppendLine();
        var rows = 0;
        foreach (var tokenWire in results.Where(r => !r.Scenario.IsRaw))
        {
            var raw = results.LastOrDefault(r => r.Scenario.Target == baseline && r.Scenario.Shape == tokenWire.Scenario.Shape);
            if (raw is null)
            {
                continue;
            }

            rows++;
            table.AppendLine(string.Create(
                CultureInfo.InvariantCulture,
                $"| {tokenWire.Scenario.Shape} | {tokenWire.Scenario.TargetName} | {tokenWire.Percentiles} | {raw.Percentiles} | " +
                $"{Ratio(tokenWire.Latency(tokenWire.P99Ms), raw.Latency(raw.P99Ms))}{(tokenWire.Clean && raw.Clean ? "" : " (lossy)")} | {Number(tokenWire.ServerCpuMicrosPerDelivery, "0.00")} / {Number(raw.ServerCpuMicrosPerDelivery, "0.00")} | " +
                $"{Ratio(tokenWire.ServerCpuMicrosPerDelivery, raw.ServerCpuMicrosPerDelivery)} | {tokenWire.WireBytesPerDelivery:0} / {raw.WireBytesPerDelivery:0} | " +
                $"{tokenWire.Lost} / {tokenWire.Duplicates} / {tokenWire.Reordered} · {raw.Lost} / {raw.Duplicates} / {raw.Reordered} | {Cores(tokenWire.OtherCores)} · {Cores(raw.OtherCores)} |"));
        }

        return rows == 0 ? string.Empty : table.ToString();
    }

    /// <summary>One row per raw-ack run that has a raw run of the same shape: what the acknowledgement adds to the baseline.</summary>
    public static string AckCostTable(IReadOnlyList<ScenarioResult> results)
    {
        var table = new StringBuilder(AckCostHeader).AppendLine();
        var rows = 0;
        foreach (var acked in results.Where(r => r.Scenario.Target == Target.RawAck))
        {
            var raw = results.LastOrDefault(r => r.Scenario.Target == Target.Raw && r.Scenario.Shape == acked.Scenario.Shape);
            if (raw is null)
            {
                continue;
            }

            rows++;
            table.AppendLine(string.Create(
                CultureInfo.InvariantCulture,
                $"| {acked.Scenario.Shape} | {acked.Percentiles} | {raw.Percentiles} | {Ratio(acked.Latency(acked.P99Ms), raw.Latency(raw.P99Ms))}{(acked.Clean && raw.Clean ? "" : " (lossy)")} | " +
                $"{Number(acked.AckP99Ms, "0.00")} | {Number(acked.ServerCpuMicrosPerDelivery, "0.00")} / {Number(raw.ServerCpuMicrosPerDelivery, "0.00")} | " +
                $"{Ratio(acked.ServerCpuMicrosPerDelivery, raw.ServerCpuMicrosPerDelivery)} | {Number(acked.ReplyWireBytesPerMessage, "0.0")} | " +
                $"{acked.Lost} / {acked.Duplicates} / {acked.Reordered} · {raw.Lost} / {raw.Duplicates} / {raw.Reordered} | {Cores(acked.OtherCores)} · {Cores(raw.OtherCores)} |"));
        }

        return rows == 0 ? string.Empty : table.ToString();
    }

    /// <summary>
    /// One row per run with slow subscribers: the normal subscribers' figures against the run of the same shape and
    /// target without slow subscribers (the one just before it), the server's peak RSS growth against the bound, and
    /// what became of the slow subscribers.
    /// </summary>
    public static string SlowTable(IReadOnlyList<ScenarioResult> results, long outboundQueueBytes)
    {
        var table = new StringBuilder(SlowHeader).AppendLine();
        var rows = 0;
        foreach (var run in results.Where(r => r.Scenario.Slow > 0))
        {
            var without = results.LastOrDefault(r => r.Scenario.Slow == 0 && r.Scenario.Shape == run.Scenario.Shape && r.Scenario.Target == run.Scenario.Target);
            var slow = run.SlowSubscribers;
            if (without is null || slow is null)
            {
                continue;
            }

            rows++;
            var n = run.Scenario.Slow;
            var growth = run.ServerPeakMemoryMb - without.ServerPeakMemoryMb;

            // The raw baselines' bound is 8192 frames, not bytes.
            var bound = run.Scenario.IsRaw ? "8192 frames each" : $"{n * outboundQueueBytes / (1024.0 * 1024.0):0} MB";
            table.AppendLine(string.Create(
                CultureInfo.InvariantCulture,
                $"| {run.Scenario.Shape} | {run.Scenario.TargetName} | {n} | {run.Percentiles} | {Number(without.Latency(without.P99Ms), "0.00")} | " +
                $"{Ratio(run.Latency(run.P99Ms), without.Latency(without.P99Ms))}{(run.Clean && without.Clean ? "" : " (lossy)")} | {run.Lost} / {run.Duplicates} / {run.Reordered} | " +
                $"{Number(run.ServerPeakMemoryMb, "0")} / {Number(without.ServerPeakMemoryMb, "0")} | {(growth is { } g ? g.ToString("+0;-0", CultureInfo.InvariantCulture) : "n/a")} MB vs {bound} | " +
                $"{run.SlowConsumerWarnings} · {slow.Ended} ({Number(slow.MedianEndedAfterSeconds, "0.0")}) of {n} | {slow.DeliveredFraction:P0} | {Cores(run.OtherCores)} · {Cores(without.OtherCores)} |"));
        }

        return rows == 0 ? string.Empty : table.ToString();
    }

    /// <summary>"p50 / p99", or n/a when nothing measured arrived.</summary>
    private string Percentiles => LatencySamples == 0 ? "n/a" : string.Create(CultureInfo.InvariantCulture, $"{P50Ms:0.00} / {P99Ms:0.00}");

    public static string Ratio(double? value, double? baseline) =>
        value is { } v && baseline is { } b && b > 0 ? (v / b).ToString(v / b < 1 ? "0.00" : "0.0", CultureInfo.InvariantCulture) + "×" : "n/a";

    /// <summary>A latency figure, or null when no measured message arrived (every subscriber dropped, say).</summary>
    private double? Latency(double ms) => LatencySamples == 0 ? null : ms;

    private static string Cores(double? cores) => Number(cores, "0.00");

    private static string Ms(double? ms) => ms is { } m ? m.ToString("0.00", CultureInfo.InvariantCulture) + "ms" : "n/a";

    private static string Number(double? value, string format) => value is { } v ? v.ToString(format, CultureInfo.InvariantCulture) : "n/a";
}

/// <summary>
/// What became of a run's slow subscribers by the end of its drain: how many saw their socket end (the server
/// disconnecting them as slow consumers; this tool does not resume), the median time from the first scheduled publish
/// to that end, the share of the stream's messages they received, and how many arrived out of order or twice.
/// </summary>
public sealed record SlowOutcome(int Count, int Ended, double? MedianEndedAfterSeconds, double DeliveredFraction, long OutOfOrder, string? FirstEndReason);
