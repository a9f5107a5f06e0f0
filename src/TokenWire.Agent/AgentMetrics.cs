using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace TokenWire.Agent;

/// <summary>
/// Meter <c>TokenWire.Agent</c>: what the prompt agent's answers look like to a user — time to first token, tokens per
/// response, how long a response streams, and how responses end (<c>tokenwire.agent.outcome</c>: complete, cancelled,
/// error). Recorded once per response, never per token. The ActivitySource of the same name traces each response.
/// </summary>
public sealed class AgentMetrics
{
    public const string MeterName = "TokenWire.Agent";

    /// <summary>The agent's ActivitySource: one <c>tokenwire.agent.response</c> span per response.</summary>
    public static readonly ActivitySource Source = new(MeterName);

    private static readonly double[] FirstTokenBuckets = [5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000];
    private static readonly double[] DurationBuckets = [100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 120000, 300000];
    private static readonly long[] TokenBuckets = [1, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000];

    private readonly Histogram<double> _firstToken;
    private readonly Histogram<long> _tokens;
    private readonly Histogram<double> _duration;
    private readonly Counter<long> _responses;

    /// <param name="meterFactory">The host's (DI); without one the meter is created here, still visible to listeners.</param>
    public AgentMetrics(IMeterFactory? meterFactory = null)
    {
        var meter = meterFactory?.Create(MeterName) ?? new Meter(MeterName);
        _firstToken = meter.CreateHistogram<double>(
            "tokenwire.agent.time_to_first_token", "ms",
            "From the agent taking a prompt to the first text delta of the model's answer, handed to the channel",
            tags: null, advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = FirstTokenBuckets });
        _tokens = meter.CreateHistogram<long>(
            "tokenwire.agent.response.tokens", "{token}",
            "Text deltas (token messages or appends) published per response",
            tags: null, advice: new InstrumentAdvice<long> { HistogramBucketBoundaries = TokenBuckets });
        _duration = meter.CreateHistogram<double>(
            "tokenwire.agent.response.duration", "ms",
            "From the agent taking a prompt to the response's final publish",
            tags: null, advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = DurationBuckets });
        _responses = meter.CreateCounter<long>(
            "tokenwire.agent.responses", "{response}",
            "Responses ended, by tokenwire.agent.outcome: complete, cancelled or error");
    }

    public void ResponseEnded(ResponseOutcome outcome, TimeSpan duration)
    {
        ArgumentNullException.ThrowIfNull(outcome);
        var tag = OutcomeTag(outcome.Reason);
        if (outcome.TimeToFirstToken is { } first)
        {
            _firstToken.Record(first.TotalMilliseconds, tag);
        }

        _tokens.Record(outcome.TokenCount, tag);
        _duration.Record(duration.TotalMilliseconds, tag);
        _responses.Add(1, tag);
    }

    /// <summary>A response that failed before it could publish its end (the channel refused it, the client is gone).</summary>
    public void ResponseFailed() => _responses.Add(1, OutcomeTag("error"));

    private static KeyValuePair<string, object?> OutcomeTag(string reason) => new("tokenwire.agent.outcome", reason);
}
