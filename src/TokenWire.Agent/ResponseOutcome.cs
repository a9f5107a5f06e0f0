namespace TokenWire.Agent;

/// <summary>How one streamed response ended: <c>complete</c>, <c>cancelled</c> or <c>error</c>, and what was sent.</summary>
public sealed record ResponseOutcome(string ResponseId, string Reason, int TokenCount, string Text, string? Error)
{
    /// <summary>From the start of the response to the model's first text delta; null when it produced none.</summary>
    public TimeSpan? TimeToFirstToken { get; init; }
}
