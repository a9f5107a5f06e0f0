namespace TokenWire.Agent.Simulation;

/// <summary>Pacing of the simulated model: chunks of 1–8 characters every <see cref="MinDelay"/>–<see cref="MaxDelay"/>.</summary>
public sealed record SimulatedChatClientOptions
{
    public static SimulatedChatClientOptions Default { get; } = new();

    /// <summary>Like the seed's mock LLM: 50–200 ms between chunks. Tests set zero to run fast.</summary>
    public TimeSpan MinDelay { get; init; } = TimeSpan.FromMilliseconds(50);

    public TimeSpan MaxDelay { get; init; } = TimeSpan.FromMilliseconds(200);

    /// <summary>Upper bound on chunk length in characters (at least 1).</summary>
    public int MaxChunkLength { get; init; } = 8;
}
