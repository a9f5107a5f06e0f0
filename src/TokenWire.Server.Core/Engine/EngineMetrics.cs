using System.Diagnostics.Metrics;

namespace TokenWire.Server.Engine;

/// <summary>
/// Meter <c>TokenWire.Engine</c>: outages of the shared store as this node rode them out (<see cref="EngineOutage"/>):
/// how many, how long, whether one is open now, and the operations that waited the whole
/// <c>TokenWire:EngineOutageWait</c> and gave up (their clients were disconnected to resume and retransmit).
/// </summary>
public sealed class EngineMetrics
{
    public const string MeterName = "TokenWire.Engine";

    private static readonly double[] OutageBuckets = [10, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000];

    private readonly Counter<long> _outages;
    private readonly Histogram<double> _duration;
    private readonly Counter<long> _gaveUp;
    private int _open;

    public EngineMetrics(IMeterFactory meterFactory)
    {
        ArgumentNullException.ThrowIfNull(meterFactory);
        var meter = meterFactory.Create(MeterName);
        _outages = meter.CreateCounter<long>(
            "tokenwire.engine.outages", "{outage}",
            "Engine outages this node noticed (an operation failed because the shared store was unavailable)");
        _duration = meter.CreateHistogram<double>(
            "tokenwire.engine.outage.duration", "ms",
            "How long each outage lasted, from the first failed operation to the first one that succeeded again",
            tags: null, advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = OutageBuckets });
        meter.CreateObservableUpDownCounter(
            "tokenwire.engine.outage.active", () => Volatile.Read(ref _open), "{outage}",
            "1 while this node is riding out an engine outage, else 0");
        _gaveUp = meter.CreateCounter<long>(
            "tokenwire.engine.outage.gave_up", "{operation}",
            "Operations that waited the whole TokenWire:EngineOutageWait for the engine and failed (their clients resume and retransmit)");
    }

    public void OutageOpened()
    {
        Volatile.Write(ref _open, 1);
        _outages.Add(1);
    }

    public void OutageClosed(TimeSpan length)
    {
        Volatile.Write(ref _open, 0);
        _duration.Record(length.TotalMilliseconds);
    }

    public void GaveUp() => _gaveUp.Add(1);
}
