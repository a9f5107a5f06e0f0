using System.Diagnostics;
using System.Diagnostics.Metrics;
using TokenWire.Shared;

namespace TokenWire.Agent;

/// <summary>
/// Meter <c>TokenWire.Agent</c>: what the prompt agent's answers look like to a user — the same measures as the AI
/// Transport agent's (<see cref="AnswerMetrics"/>), named for responses: <c>tokenwire.agent.time_to_first_token</c>,
/// <c>….response.tokens</c>, <c>….response.duration</c>, <c>….responses</c> by <c>tokenwire.agent.outcome</c>. The
/// ActivitySource of the same name traces each response.
/// </summary>
public sealed class AgentMetrics
{
    public const string MeterName = "TokenWire.Agent";

    /// <summary>The agent's ActivitySource: one <c>tokenwire.agent.response</c> span per response.</summary>
    public static readonly ActivitySource Source = new(MeterName);

    private readonly AnswerMetrics _responses;

    /// <param name="meterFactory">The host's (DI); without one the meter is created here, still visible to listeners.</param>
    public AgentMetrics(IMeterFactory? meterFactory = null) =>
        _responses = new AnswerMetrics(meterFactory?.Create(MeterName) ?? new Meter(MeterName), new AnswerInstruments(
            "tokenwire.agent",
            "response",
            "From the agent taking a prompt to the first text delta of the model's answer, handed to the channel",
            "Text deltas (token messages or appends) published per response",
            "From the agent taking a prompt to the response's final publish"));

    public void ResponseEnded(ResponseOutcome outcome, TimeSpan duration)
    {
        ArgumentNullException.ThrowIfNull(outcome);
        _responses.Ended(outcome.Reason, outcome.TokenCount, outcome.TimeToFirstToken, duration);
    }

    /// <summary>A response that failed before it could publish its end (the channel refused it, the client is gone).</summary>
    public void ResponseFailed() => _responses.Failed();
}
