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

    private readonly ILogger _logger = logger ?? NullLogger<ResponseMessageStreamer>.Instance;

    public async Task<ResponseOutcome> StreamAsync(IMutableResponseChannel channel, string prompt, string responseId, CancellationToken cancellationToken = default)
    {
        await using var answer = await ModelAnswer.StartAsync(channel, responseId, cancellationToken).ConfigureAwait(false);
        var serial = await channel.PublishTextAsync(ResponseName, string.Empty, Headers(responseId, "streaming"), cancellationToken).ConfigureAwait(false)
            ?? throw new InvalidOperationException("The response message got no serial");
        var appends = new List<Task>();
        await answer.ReadAsync(model, prompt, delta => appends.Add(channel.AppendAsync(serial, delta, Headers(responseId, "streaming"), cancellationToken)), _logger, responseId)
            .ConfigureAwait(false);

        try
        {
            await Task.WhenAll(appends).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            answer.Fail(ex.Message);
            AppendFailed(_logger, ex, responseId);
        }

        var fullText = answer.Text;
        var final = Headers(responseId, answer.Reason);
        final["tokenCount"] = answer.Count;
        final["textSha256"] = ResponseStreamer.Sha256Hex(fullText);
        if (answer.Error is not null)
        {
            final["error"] = answer.Error;
        }

        using var finalToken = ModelAnswer.FinalPublishToken(cancellationToken);
        await channel.AppendAsync(serial, string.Empty, final, finalToken.Token).ConfigureAwait(false);
        return new ResponseOutcome(responseId, answer.Reason, answer.Count, fullText, answer.Error) { TimeToFirstToken = answer.TimeToFirstToken };
    }

    private static JsonObject Headers(string responseId, string status) => new() { ["responseId"] = responseId, ["status"] = status };

    [LoggerMessage(Level = LogLevel.Warning, Message = "Response {ResponseId}: an append failed; the final append says error")]
    private static partial void AppendFailed(ILogger logger, Exception exception, string responseId);
}
