using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using TokenWire.Client;
using TokenWire.Protocol;

namespace TokenWire.Agent;

/// <summary>
/// The agent loop: follows the requests channel over a <see cref="RealtimeClient"/> and streams each prompt's answer
/// onto the prompt's channel with <see cref="ResponseStreamer"/> (message per token) or
/// <see cref="ResponseMessageStreamer"/> (message per response), as <see cref="AgentOptions.ResponseMode"/> says. Runs the same in the server process and as a
/// separate <c>agent</c> process. Responses run concurrently, up to <see cref="MaxConcurrentResponses"/>.
/// </summary>
public sealed partial class AgentWorker(RealtimeClient client, IChatClient model, AgentOptions options, ILoggerFactory? loggerFactory = null, AgentMetrics? metrics = null)
{
    /// <summary>Bounds model calls in flight; a burst of prompts queues instead of overwhelming the model.</summary>
    public const int MaxConcurrentResponses = 64;

    private readonly ILoggerFactory _loggers = loggerFactory ?? NullLoggerFactory.Instance;
    private readonly ILogger _logger = (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger<AgentWorker>();
    private readonly ConcurrentDictionary<string, int> _activeChannels = new(StringComparer.Ordinal);

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var requests = client.Channels.Get(options.RequestsChannel);
        using var gate = new SemaphoreSlim(MaxConcurrentResponses);
        var running = new List<Task>();
        await using var subscription = requests.SubscribeAsync("prompt", cancellationToken);
        await requests.AttachAsync(cancellationToken).ConfigureAwait(false);
        AgentReady(_logger, options.RequestsChannel);
        try
        {
            await foreach (var message in subscription.WithCancellation(cancellationToken).ConfigureAwait(false))
            {
                if (ParsePrompt(message) is not { } prompt)
                {
                    continue;
                }

                await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
                running.RemoveAll(t => t.IsCompleted);
                running.Add(RespondAsync(prompt, gate, cancellationToken));
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }

        // Responses end with a stop even on shutdown (ResponseStreamer publishes it with its own timeout).
        await Task.WhenAll(running).ConfigureAwait(false);
    }

    private async Task RespondAsync(AgentPrompt prompt, SemaphoreSlim gate, CancellationToken cancellationToken)
    {
        _activeChannels.AddOrUpdate(prompt.Channel, 1, static (_, n) => n + 1);
        using var activity = AgentMetrics.Source.StartActivity("tokenwire.agent.response");
        activity?.SetTag("messaging.destination.name", prompt.Channel);
        activity?.SetTag("tokenwire.agent.response_id", prompt.ResponseId);
        var started = Stopwatch.GetTimestamp();
        try
        {
            var channel = new RealtimeResponseChannel(client.Channels.Get(prompt.Channel));
            var outcome = options.ResponseMode == AgentResponseMode.MessagePerResponse
                ? await new ResponseMessageStreamer(model, _loggers.CreateLogger<ResponseMessageStreamer>()).StreamAsync(channel, prompt.Prompt, prompt.ResponseId, cancellationToken).ConfigureAwait(false)
                : await new ResponseStreamer(model, _loggers.CreateLogger<ResponseStreamer>()).StreamAsync(channel, prompt.Prompt, prompt.ResponseId, cancellationToken).ConfigureAwait(false);
            ResponseEnded(_logger, prompt.ResponseId, prompt.Channel, outcome.Reason, outcome.TokenCount);
            metrics?.ResponseEnded(outcome, Stopwatch.GetElapsedTime(started));
            activity?.SetTag("tokenwire.agent.outcome", outcome.Reason);
            activity?.SetTag("tokenwire.agent.tokens", outcome.TokenCount);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            metrics?.ResponseFailed();
            activity?.SetStatus(ActivityStatusCode.Error, ex.Message);
            ResponseFailed(_logger, ex, prompt.ResponseId, prompt.Channel);
        }
        finally
        {
            gate.Release();
            await ReleaseIdleChannelAsync(prompt.Channel).ConfigureAwait(false);
        }
    }

    /// <summary>Detaches a session channel once no response is streaming to it, so attachments do not pile up.</summary>
    private async Task ReleaseIdleChannelAsync(string name)
    {
        if (_activeChannels.AddOrUpdate(name, 0, static (_, n) => n - 1) > 0
            || !_activeChannels.TryRemove(new KeyValuePair<string, int>(name, 0)))
        {
            return;
        }

        try
        {
            await client.Channels.ReleaseAsync(name).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is AblyException or OperationCanceledException or TimeoutException)
        {
            ReleaseFailed(_logger, ex, name);
        }
    }

    private AgentPrompt? ParsePrompt(Message message)
    {
        try
        {
            var prompt = message.Data.Text is { } json ? JsonSerializer.Deserialize(json, AgentJsonContext.Default.AgentPrompt) : null;
            if (prompt is null || string.IsNullOrEmpty(prompt.Channel) || string.IsNullOrEmpty(prompt.ResponseId))
            {
                MalformedPrompt(_logger, message.Id);
                return null;
            }

            return prompt;
        }
        catch (JsonException)
        {
            MalformedPrompt(_logger, message.Id);
            return null;
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Agent ready: following {Channel} for prompts")]
    private static partial void AgentReady(ILogger logger, string channel);

    [LoggerMessage(Level = LogLevel.Information, Message = "Response {ResponseId} on {Channel} ended: {Reason}, {TokenCount} tokens")]
    private static partial void ResponseEnded(ILogger logger, string responseId, string channel, string reason, int tokenCount);

    [LoggerMessage(Level = LogLevel.Error, Message = "Response {ResponseId} on {Channel} failed")]
    private static partial void ResponseFailed(ILogger logger, Exception exception, string responseId, string channel);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Ignoring a malformed prompt request {MessageId}")]
    private static partial void MalformedPrompt(ILogger logger, string? messageId);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Releasing channel {Channel} failed")]
    private static partial void ReleaseFailed(ILogger logger, Exception exception, string channel);
}
