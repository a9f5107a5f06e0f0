using System.Diagnostics;
using System.Diagnostics.Metrics;
using TokenWire.Shared;

namespace TokenWire.AITransport;

/// <summary>
/// Meter <c>TokenWire.AITransport</c>: each run as its user sees it — the same measures as the prompt agent's
/// (<see cref="AnswerMetrics"/>), named for runs: <c>tokenwire.ai_transport.time_to_first_token</c>,
/// <c>….run.tokens</c>, <c>….run.duration</c>, <c>….runs</c> by <c>tokenwire.ai_transport.outcome</c>. The
/// ActivitySource of the same name traces each run (<c>tokenwire.ai_transport.run</c>).
/// </summary>
internal sealed class AITransportMetrics
{
    public const string MeterName = "TokenWire.AITransport";

    public static readonly ActivitySource Source = new(MeterName);

    private readonly AnswerMetrics _runs;

    public AITransportMetrics(IMeterFactory? meterFactory) =>
        _runs = new AnswerMetrics(meterFactory?.Create(MeterName) ?? new Meter(MeterName), new AnswerInstruments(
            "tokenwire.ai_transport",
            "run",
            "From the invocation reaching the agent to the first text delta published on the session channel",
            "Text deltas published per run (one append each)",
            "From the invocation reaching the agent to ai-run-end"));

    public void RunEnded(string reason, int tokens, TimeSpan? firstToken, TimeSpan duration) => _runs.Ended(reason, tokens, firstToken, duration);
}
