using Microsoft.Extensions.AI;

namespace TokenWire.AITransport;

/// <summary>How an <see cref="AITransportAgent"/> answers.</summary>
public sealed class AITransportAgentOptions
{
    /// <summary>Options for every model call (tools, instructions, temperature…); cloned per run.</summary>
    public ChatOptions? ChatOptions { get; set; }

    /// <summary>
    /// The <c>errorText</c> of the <c>error</c> chunk a failed model call publishes. Like the AI SDK's default it hides
    /// the exception (which may carry internals) from the channel's readers; the exception itself is logged.
    /// </summary>
    public Func<Exception, string> ErrorText { get; set; } = static _ => "An error occurred.";

    /// <summary>Puts the model's token usage on the <c>finish</c> chunk as <c>messageMetadata.usage</c>.</summary>
    public bool IncludeUsage { get; set; } = true;

    /// <summary>
    /// How long to wait for the invocation's input event to reach the agent. The client publishes it before it posts
    /// the invocation, so it is normally in history already; a session already attached may see it live a moment later.
    /// </summary>
    public TimeSpan InputTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>History is read in pages of 100 (as the SDK does); this bounds how far back a conversation is read.</summary>
    public int MaxHistoryPages { get; set; } = 100;

    /// <summary>
    /// How long a suspended run (awaiting a client tool's result or an approval) keeps the agent attached to its session,
    /// so that a cancel ends it <c>cancelled</c>. After that the attachment is released and the run stays suspended on
    /// the channel, as the JS agent leaves it; an answer still resumes it.
    /// </summary>
    public TimeSpan SuspendedRunTimeout { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>Bounds the closing publishes of a run when the agent is shutting down.</summary>
    public TimeSpan ShutdownPublishTimeout { get; set; } = TimeSpan.FromSeconds(10);
}
