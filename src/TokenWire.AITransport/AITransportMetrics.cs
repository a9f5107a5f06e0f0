using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace TokenWire.AITransport;

/// <summary>
/// Meter <c>TokenWire.AITransport</c>: each run as its user sees it — time to first token, text deltas per run, how
/// long it streamed, how it ended (<c>tokenwire.ai_transport.outcome</c>: complete, cancelled, error). Recorded once
/// per run, never per token. The ActivitySource of the same name traces each run (<c>tokenwire.ai_transport.run</c>).
/// </summary>
internal sealed class AITransportMetrics
{
    public const string MeterName = "TokenWire.AITransport";

    public static readonly ActivitySource Source = new(MeterName);

    private static readonly double[] FirstTokenBuckets = [5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000];
    private static readonly double[] DurationBuckets = [100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 120000, 300000];
    private static readonly long[] TokenBuckets = [1, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000];

    private readonly Histogram<double> _firstToken;
    private readonly Histogram<long> _tokens;
    private readonly Histogram<double> _duration;
    private readonly Counter<long> _runs;

    public AITransportMetrics(IMeterFactory? meterFactory)
    {
        var meter = meterFactory?.Create(MeterName) ?? new Meter(MeterName);
        _firstToken = meter.CreateHistogram<double>(
            "tokenwire.ai_transport.time_to_first_token", "ms",
            "From the invocation reaching the agent to the first text delta published on the session channel",
            tags: null, advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = FirstTokenBuckets });
        _tokens = meter.CreateHistogram<long>(
            "tokenwire.ai_transport.run.tokens", "{token}",
            "Text deltas published per run (one append each)",
            tags: null, advice: new InstrumentAdvice<long> { HistogramBucketBoundaries = TokenBuckets });
        _duration = meter.CreateHistogram<double>(
            "tokenwire.ai_transport.run.duration", "ms",
            "From the invocation reaching the agent to ai-run-end",
            tags: null, advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = DurationBuckets });
        _runs = meter.CreateCounter<long>(
            "tokenwire.ai_transport.runs", "{run}",
            "Runs ended, by tokenwire.ai_transport.outcome: complete, cancelled or error");
    }

    public void RunEnded(string reason, int tokens, TimeSpan? firstToken, TimeSpan duration)
    {
        var tag = new KeyValuePair<string, object?>("tokenwire.ai_transport.outcome", reason);
        if (firstToken is { } first)
        {
            _firstToken.Record(first.TotalMilliseconds, tag);
        }

        _tokens.Record(tokens, tag);
        _duration.Record(duration.TotalMilliseconds, tag);
        _runs.Add(1, tag);
    }
}
