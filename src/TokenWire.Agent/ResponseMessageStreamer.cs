using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace TokenWire.Agent;

/// <summary>
/// Streams one model answer as message-per-response (Ably's pattern for AI responses): a <c>response</c> message
/// created empty, then one append per text delta, pipelined, then a final empty append. Every publish carries
/// <c>extras.headers.responseId</c> and <c>status</c> (<c>streaming</c>, then <c>complete</c>, <c>cancelled</c> or
/// <c>error</c>); appends replace extras, so the final append also carries <c>tokenCount</c> and <c>textSha256</c>
/// (as <see cref="ResponseStreamer"/>'s stop does). History and late joiners read the response as one message.
/// Cancel: a <c>cancel</c> message whose <c>extras.headers.responseId</c> names the response.
/// </summary>
public sealed partial class ResponseMessageStreamer(IChatClient model, ILogger<ResponseMessageStreamer>? logger = null)
{
    public const string ResponseName = "response";

    /// <summary>Bounds the final append when the caller's token is already cancelled (host shutting down).</summary>
    private static readonly TimeSpan FinalPublishTimeout = TimeSpan.FromSeconds(10);

    private readonly ILogger _logger = logger ?? NullLogger<ResponseMessageStreamer>.Instance;

    public async Task<ResponseOutcome> StreamAsync(IMutableResponseChannel channel, string prompt, string responseId, CancellationToken cancellationToken = default)
    {
        using var generation = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        await using var cancelSubscription = await channel.SubscribeAsync("cancel", id =>
        {
            if (id == responseId)
            {
                generation.Cancel();
            }
        }, cancellationToken).ConfigureAwait(false);

        var serial = await channel.PublishTextAsync(ResponseName, string.Empty, Headers(responseId, "streaming"), cancellationToken).ConfigureAwait(false)
            ?? throw new InvalidOperationException("The response message got no serial");
        var appends = new List<Task>();
        var text = new StringBuilder();
        var count = 0;
        var reason = "complete";
        string? error = null;
        try
        {
            await foreach (var update in model.GetStreamingResponseAsync([new ChatMessage(ChatRole.User, prompt)], cancellationToken: generation.Token).ConfigureAwait(false))
            {
                if (string.IsNullOrEmpty(update.Text))
                {
                    continue;
                }

                count++;
                text.Append(update.Text);
                appends.Add(channel.AppendAsync(serial, update.Text, Headers(responseId, "streaming"), cancellationToken));
            }
        }
        catch (OperationCanceledException) when (generation.IsCancellationRequested)
        {
            reason = "cancelled";
        }
        catch (Exception ex)
        {
            reason = "error";
            error = ex.Message;
            ModelFailed(_logger, ex, responseId);
        }

        try
        {
            await Task.WhenAll(appends).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            reason = "error";
            error ??= ex.Message;
            AppendFailed(_logger, ex, responseId);
        }

        var fullText = text.ToString();
        var final = Headers(responseId, reason);
        final["tokenCount"] = count;
        final["textSha256"] = ResponseStreamer.Sha256Hex(fullText);
        if (error is not null)
        {
            final["error"] = error;
        }

        using var finalToken = cancellationToken.IsCancellationRequested ? new CancellationTokenSource(FinalPublishTimeout) : CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        await channel.AppendAsync(serial, string.Empty, final, finalToken.Token).ConfigureAwait(false);
        return new ResponseOutcome(responseId, reason, count, fullText, error);
    }

    private static JsonObject Headers(string responseId, string status) => new() { ["responseId"] = responseId, ["status"] = status };

    [LoggerMessage(Level = LogLevel.Warning, Message = "Response {ResponseId}: the model failed")]
    private static partial void ModelFailed(ILogger logger, Exception exception, string responseId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Response {ResponseId}: an append failed; the final append says error")]
    private static partial void AppendFailed(ILogger logger, Exception exception, string responseId);
}
