using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace TokenWire.Agent;

/// <summary>
/// Streams one model answer onto a channel as message-per-token: <c>start</c>, one <c>token</c> per text delta
/// (<c>data: { token }</c>, <c>extras.headers.index</c> from 0), then <c>stop</c> with <c>tokenCount</c>,
/// <c>textSha256</c> (hex SHA-256 of the UTF-8 text) and <c>reason</c> (<c>complete</c>, <c>cancelled</c> or
/// <c>error</c>), so any client can prove it holds the whole answer. Every message carries
/// <c>extras.headers.responseId</c>. A <c>stop</c> is always published, whatever happened before it.
/// </summary>
public sealed partial class ResponseStreamer(IChatClient model, ILogger<ResponseStreamer>? logger = null)
{
    private readonly ILogger _logger = logger ?? NullLogger<ResponseStreamer>.Instance;

    public async Task<ResponseOutcome> StreamAsync(IResponseChannel channel, string prompt, string responseId, CancellationToken cancellationToken = default)
    {
        await using var answer = await ModelAnswer.StartAsync(channel, responseId, cancellationToken).ConfigureAwait(false);
        var publishes = new List<Task> { channel.PublishAsync("start", new JsonObject { ["prompt"] = prompt }, Headers(responseId), cancellationToken) };
        await answer.ReadAsync(model, prompt, delta =>
        {
            var headers = Headers(responseId);
            headers["index"] = answer.Count - 1;
            publishes.Add(channel.PublishAsync("token", new JsonObject { ["token"] = delta }, headers, cancellationToken));
        }, _logger, responseId).ConfigureAwait(false);

        var publishFailed = false;
        try
        {
            await Task.WhenAll(publishes).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            // Some token did not make it: the final stop carries the whole text so no reader is left incomplete.
            publishFailed = true;
            PublishFailed(_logger, ex, responseId);
        }

        var fullText = answer.Text;
        var stopHeaders = Headers(responseId);
        stopHeaders["tokenCount"] = answer.Count;
        stopHeaders["textSha256"] = Sha256Hex(fullText);
        stopHeaders["reason"] = answer.Reason;
        if (answer.Error is not null)
        {
            stopHeaders["error"] = answer.Error;
        }

        var stopData = publishFailed ? new JsonObject { ["text"] = fullText } : [];
        using var final = ModelAnswer.FinalPublishToken(cancellationToken);
        await channel.PublishAsync("stop", stopData, stopHeaders, final.Token).ConfigureAwait(false);
        return new ResponseOutcome(responseId, answer.Reason, answer.Count, fullText, answer.Error) { TimeToFirstToken = answer.TimeToFirstToken };
    }

    public static string Sha256Hex(string text) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));

    private static JsonObject Headers(string responseId) => new() { ["responseId"] = responseId };

    [LoggerMessage(Level = LogLevel.Warning, Message = "Response {ResponseId}: a token publish failed; the stop message carries the full text")]
    private static partial void PublishFailed(ILogger logger, Exception exception, string responseId);
}
