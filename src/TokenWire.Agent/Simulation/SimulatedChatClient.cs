using System.Runtime.CompilerServices;
using Microsoft.Extensions.AI;

namespace TokenWire.Agent.Simulation;

/// <summary>
/// The embedded default model: an <see cref="IChatClient"/> that streams a deterministic answer for the last user
/// message in chunks of 1–8 characters, paced like the seed's mock LLM. Same prompt, same text, same chunks.
/// </summary>
public sealed class SimulatedChatClient(SimulatedChatClientOptions? options = null, TimeProvider? time = null) : IChatClient
{
    private readonly SimulatedChatClientOptions _options = options ?? SimulatedChatClientOptions.Default;
    private readonly TimeProvider _time = time ?? TimeProvider.System;

    public async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        var updates = new List<ChatResponseUpdate>();
        await foreach (var update in GetStreamingResponseAsync(messages, options, cancellationToken).ConfigureAwait(false))
        {
            updates.Add(update);
        }

        return updates.ToChatResponse();
    }

    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var history = messages as IReadOnlyList<ChatMessage> ?? [.. messages];
        var responseId = "sim-" + Guid.NewGuid().ToString("N")[..12];
        if (SimulatedTools.CallFor(history, options) is { } call)
        {
            // A tool the caller offers and the prompt asks for: the call is the whole answer of this step.
            yield return new ChatResponseUpdate(ChatRole.Assistant, [call]) { ResponseId = responseId, ModelId = "tokenwire-simulated", FinishReason = ChatFinishReason.ToolCalls };
            yield break;
        }

        var prompt = history.LastOrDefault(m => m.Role == ChatRole.User)?.Text ?? string.Empty;
        var text = SimulatedTools.AnswerFromResult(history) ?? SimulatedAnswers.ForConversation(history, prompt);
        var random = new Random(SimulatedAnswers.StableHash(prompt));
        var maxChunk = Math.Max(1, _options.MaxChunkLength);
        for (var position = 0; position < text.Length;)
        {
            var delay = _options.MinDelay + (_options.MaxDelay - _options.MinDelay) * random.NextDouble();
            if (delay > TimeSpan.Zero)
            {
                await Task.Delay(delay, _time, cancellationToken).ConfigureAwait(false);
            }

            cancellationToken.ThrowIfCancellationRequested();
            var length = Math.Min(random.Next(1, maxChunk + 1), text.Length - position);
            // Never split a surrogate pair across chunks.
            if (char.IsHighSurrogate(text[position + length - 1]) && position + length < text.Length)
            {
                length++;
            }

            yield return new ChatResponseUpdate(ChatRole.Assistant, text.Substring(position, length))
            {
                ResponseId = responseId,
                ModelId = "tokenwire-simulated",
            };
            position += length;
        }
    }

    public object? GetService(Type serviceType, object? serviceKey = null) =>
        serviceKey is null && serviceType.IsInstanceOfType(this) ? this : null;

    public void Dispose()
    {
    }
}
