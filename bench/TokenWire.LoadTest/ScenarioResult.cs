using System.Globalization;

namespace TokenWire.LoadTest;

/// <summary>
/// What one scenario measured. Rates are per second of the measured window; latencies in milliseconds. Server CPU and
/// memory are summed over all nodes; Redis CPU (when the nodes use Redis) is reported on its own.
/// </summary>
public sealed record ScenarioResult(
    Scenario Scenario,
    double PublishedPerSecond,
    double DeliveriesPerSecond,
    double P50Ms,
    double P99Ms,
    double MaxMs,
    double AckP99Ms,
    double SendLagP99Ms,
    long OrderViolations,
    long Missing,
    int EndedEarly,
    long Nacks,
    double? ServerCores,
    double? ServerKernelCores,
    double? RedisCores,
    double ClientCores,
    double? OtherCores,
    double? ServerMemoryMb,
    double ConnectSeconds)
{
    public const string MarkdownHeader =
        "| subscribers | format | offered msg/s | published msg/s | deliveries/s | p50 ms | p99 ms | max ms | ack p99 ms | order violations | missing | dropped sockets | CPU server / redis / client / other (cores) |\n" +
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|:---:|";

    public string ToLine() => string.Create(
        CultureInfo.InvariantCulture,
        $"subscribers={Scenario.Subscribers,-5} format={Scenario.FormatName,-7} offered={Scenario.Rate,6:0}/s published={PublishedPerSecond,8:0.0}/s " +
        $"deliveries={DeliveriesPerSecond,9:0}/s p50={P50Ms:0.00}ms p99={P99Ms:0.00}ms max={MaxMs:0.00}ms ack-p99={AckP99Ms:0.00}ms " +
        $"send-lag-p99={SendLagP99Ms:0.00}ms order-violations={OrderViolations} missing={Missing} dropped-sockets={EndedEarly} nacks={Nacks} " +
        $"cpu-server={Cores(ServerCores)} cpu-server-kernel={Cores(ServerKernelCores)} cpu-redis={Cores(RedisCores)} cpu-client={ClientCores:0.00} cpu-other={Cores(OtherCores)} server-mem={(ServerMemoryMb is { } mb ? mb.ToString("0", CultureInfo.InvariantCulture) + "MB" : "n/a")} connect={ConnectSeconds:0.0}s");

    public string ToMarkdownRow() => string.Create(
        CultureInfo.InvariantCulture,
        $"| {Scenario.Subscribers} | {Scenario.FormatName} | {Scenario.Rate:0} | {PublishedPerSecond:0} | {DeliveriesPerSecond:0} | {P50Ms:0.00} | {P99Ms:0.00} | {MaxMs:0.00} | {AckP99Ms:0.00} | {OrderViolations} | {Missing} | {EndedEarly} | {Cores(ServerCores)} / {Cores(RedisCores)} / {ClientCores:0.00} / {Cores(OtherCores)} |");

    /// <summary>Something else used a noticeable share of the two cores while this scenario was measured.</summary>
    public bool MachineWasBusy => OtherCores > 0.25;

    private static string Cores(double? cores) => cores is { } c ? c.ToString("0.00", CultureInfo.InvariantCulture) : "n/a";
}
