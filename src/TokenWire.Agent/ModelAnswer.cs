using System.Diagnostics;
using System.Text;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;

namespace TokenWire.Agent;

/// <summary>
/// One model answer being read, whatever shape it is published in (<see cref="ResponseStreamer"/>,
/// <see cref="ResponseMessageStreamer"/>): it follows the channel's <c>cancel</c> messages for this response, reads the
/// model's text deltas (empty and role-only updates carry none), keeps the text, and says how the answer ended —
/// <c>complete</c>, <c>cancelled</c> (a cancel message) or <c>error</c> (the model failed).
/// </summary>
internal sealed partial class ModelAnswer : IAsyncDisposable
{
    /// <summary>Bounds the final publish when the caller's token is already cancelled (host shutting down).</summary>
    private static readonly TimeSpan FinalPublishTimeout = TimeSpan.FromSeconds(10);

    private readonly CancellationTokenSource _generation;
    private readonly IAsyncDisposable _cancelSubscription;
    private readonly StringBuilder _text = new();
    private readonly long _started = Stopwatch.GetTimestamp();

    private ModelAnswer(CancellationTokenSource generation, IAsyncDisposable cancelSubscription)
    {
        _generation = generation;
        _cancelSubscription = cancelSubscription;
    }

    public string Reason { get; private set; } = "complete";

    public string? Error { get; private set; }

    /// <summary>Text deltas read so far.</summary>
    public int Count { get; private set; }

    public string Text => _text.ToString();

    /// <summary>From the start of this answer (the cancel subscription included) to the first text delta; null before it.</summary>
    public TimeSpan? TimeToFirstToken { get; private set; }

    /// <summary>Starts following cancels for <paramref name="responseId"/>; the model is read by <see cref="ReadAsync"/>.</summary>
    public static async Task<ModelAnswer> StartAsync(IResponseChannel channel, string responseId, CancellationToken cancellationToken)
    {
        var generation = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        try
        {
            var subscription = await channel.SubscribeAsync("cancel", id =>
            {
                if (id == responseId)
                {
                    generation.Cancel();
                }
            }, cancellationToken).ConfigureAwait(false);
            return new ModelAnswer(generation, subscription);
        }
        catch
        {
            generation.Dispose();
            throw;
        }
    }

    /// <summary>Reads the answer to <paramref name="prompt"/>, handing each text delta to <paramref name="onDelta"/>.</summary>
    public async Task ReadAsync(IChatClient model, string prompt, Action<string> onDelta, ILogger logger, string responseId)
    {
        try
        {
            await foreach (var update in model.GetStreamingResponseAsync([new ChatMessage(ChatRole.User, prompt)], cancellationToken: _generation.Token).ConfigureAwait(false))
            {
                if (string.IsNullOrEmpty(update.Text))
                {
                    continue;
                }

                if (Count++ == 0)
                {
                    TimeToFirstToken = Stopwatch.GetElapsedTime(_started);
                }

                _text.Append(update.Text);
                onDelta(update.Text);
            }
        }
        catch (OperationCanceledException) when (_generation.IsCancellationRequested)
        {
            Reason = "cancelled";
        }
        catch (Exception ex)
        {
            Fail(ex.Message);
            ModelFailed(logger, ex, responseId);
        }
    }

    /// <summary>The answer ends in error (the model failed, or its text did not all reach the channel).</summary>
    public void Fail(string error)
    {
        Reason = "error";
        Error ??= error;
    }

    /// <summary>The token for the final publish: the caller's, or a bounded one once the caller's is cancelled.</summary>
    public static CancellationTokenSource FinalPublishToken(CancellationToken cancellationToken) =>
        cancellationToken.IsCancellationRequested ? new CancellationTokenSource(FinalPublishTimeout) : CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);

    public async ValueTask DisposeAsync()
    {
        await _cancelSubscription.DisposeAsync().ConfigureAwait(false);
        _generation.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Response {ResponseId}: the model failed")]
    private static partial void ModelFailed(ILogger logger, Exception exception, string responseId);
}
