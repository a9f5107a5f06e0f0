using System.Diagnostics.Metrics;

namespace TokenWire.Shared;

/// <summary>
/// What a streamed answer looks like to its user, recorded once per answer, never per token: time to first token, text
/// deltas per answer, how long it streamed, and how answers end (<c>{prefix}.outcome</c>: complete, cancelled, error).
/// Both agents measure exactly this, each under its own meter and names (the prompt agent's responses, the AI Transport
/// agent's runs), so the instruments are made here, once; this file is compiled into each agent's assembly.
/// </summary>
/// <param name="Prefix">The instruments' prefix: <c>tokenwire.agent</c>, <c>tokenwire.ai_transport</c>.</param>
/// <param name="Answer">What one answer is called: <c>response</c>, <c>run</c> (names <c>{prefix}.{answer}.tokens</c>, <c>{prefix}.{answer}s</c>).</param>
internal sealed record AnswerInstruments(string Prefix, string Answer, string FirstTokenDescription, string TokensDescription, string DurationDescription);

/// <inheritdoc cref="AnswerInstruments"/>
internal sealed class AnswerMetrics
{
    private static readonly double[] FirstTokenBuckets = [5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000];
    private static readonly double[] DurationBuckets = [100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 120000, 300000];
    private static readonly long[] TokenBuckets = [1, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000];

    private readonly string _outcome;
    private readonly Histogram<double> _firstToken;
    private readonly Histogram<long> _tokens;
    private readonly Histogram<double> _duration;
    private readonly Counter<long> _ended;

    public AnswerMetrics(Meter meter, AnswerInstruments names)
    {
        _outcome = $"{names.Prefix}.outcome";
        _firstToken = meter.CreateHistogram<double>(
            $"{names.Prefix}.time_to_first_token", "ms", names.FirstTokenDescription,
            tags: null, advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = FirstTokenBuckets });
        _tokens = meter.CreateHistogram<long>(
            $"{names.Prefix}.{names.Answer}.tokens", "{token}", names.TokensDescription,
            tags: null, advice: new InstrumentAdvice<long> { HistogramBucketBoundaries = TokenBuckets });
        _duration = meter.CreateHistogram<double>(
            $"{names.Prefix}.{names.Answer}.duration", "ms", names.DurationDescription,
            tags: null, advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = DurationBuckets });
        _ended = meter.CreateCounter<long>(
            $"{names.Prefix}.{names.Answer}s", $"{{{names.Answer}}}",
            $"{char.ToUpperInvariant(names.Answer[0])}{names.Answer[1..]}s ended, by {_outcome}: complete, cancelled or error");
    }

    public void Ended(string outcome, int tokens, TimeSpan? firstToken, TimeSpan duration)
    {
        var tag = OutcomeTag(outcome);
        if (firstToken is { } first)
        {
            _firstToken.Record(first.TotalMilliseconds, tag);
        }

        _tokens.Record(tokens, tag);
        _duration.Record(duration.TotalMilliseconds, tag);
        _ended.Add(1, tag);
    }

    /// <summary>An answer that failed before it could be measured: counted as an error, nothing else recorded.</summary>
    public void Failed() => _ended.Add(1, OutcomeTag("error"));

    private KeyValuePair<string, object?> OutcomeTag(string outcome) => new(_outcome, outcome);
}
