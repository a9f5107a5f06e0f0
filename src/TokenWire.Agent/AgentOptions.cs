namespace TokenWire.Agent;

/// <summary>The <c>TokenWire:Agent</c> configuration section.</summary>
public sealed class AgentOptions
{
    public const string SectionName = "TokenWire:Agent";

    /// <summary>Hosts the agent inside the server process (it still talks to the server over the wire).</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>The API key the agent connects with; defaults to the server's first key with full capability.</summary>
    public string? Key { get; set; }

    /// <summary>Where prompt requests are published by <c>POST /agent/prompts</c> and read by agents.</summary>
    public string RequestsChannel { get; set; } = "tokenwire-agent:requests";

    /// <summary>How answers to <c>POST /agent/prompts</c> go on the channel (default: message per token).</summary>
    public AgentResponseMode ResponseMode { get; set; } = AgentResponseMode.MessagePerToken;

    public SimulatedModelOptions Simulated { get; set; } = new();

    public OpenAIModelOptions OpenAI { get; set; } = new();
}

/// <summary>The two ways the agent streams an answer.</summary>
public enum AgentResponseMode
{
    /// <summary><c>start</c>, one <c>token</c> message per delta, <c>stop</c> (<see cref="ResponseStreamer"/>).</summary>
    MessagePerToken,

    /// <summary>One <c>response</c> message appended to per delta, as Ably's message-per-response pattern
    /// (<see cref="ResponseMessageStreamer"/>); the channel's namespace must allow mutable messages.</summary>
    MessagePerResponse,
}

public sealed class SimulatedModelOptions
{
    public TimeSpan MinDelay { get; set; } = TimeSpan.FromMilliseconds(50);

    public TimeSpan MaxDelay { get; set; } = TimeSpan.FromMilliseconds(200);
}

/// <summary>Any OpenAI-compatible endpoint (OpenAI, Ollama, vLLM, llama.cpp). Unset: the simulated model is used.</summary>
public sealed class OpenAIModelOptions
{
    /// <summary>Base URL such as <c>http://localhost:11434/v1</c>; falls back to <c>OPENAI_BASE_URL</c>.</summary>
    public string? Endpoint { get; set; }

    /// <summary>Falls back to <c>OPENAI_API_KEY</c>.</summary>
    public string? ApiKey { get; set; }

    /// <summary>Falls back to <c>OPENAI_MODEL</c>, then <c>gpt-4o-mini</c>.</summary>
    public string? Model { get; set; }
}
