using Microsoft.Extensions.Options;
using TokenWire.Protocol;
using TokenWire.Server.Auth;
using TokenWire.Server.Configuration;
using TokenWire.Server.Engine;

namespace TokenWire.Server.Annotations;

/// <summary>
/// Messages as REST reads show them (TM2u): history and <c>getMessage</c> carry each message's latest annotation
/// summary. Only mutable channels can have annotations, so other channels' reads cost nothing here.
/// </summary>
public sealed class SummaryReader(IAnnotationStore store, IOptions<TokenWireOptions> options)
{
    private readonly int _maxClientIds = Math.Max(0, options.Value.Annotations.MaxSummaryClientIds);

    /// <summary><paramref name="messages"/> with their summaries; a message with one is copied, never changed in place.</summary>
    public async ValueTask<IReadOnlyList<Message>> WithSummariesAsync(AppDefinition app, string channelName, IReadOnlyList<Message> messages, CancellationToken cancellationToken)
    {
        if (messages.Count == 0 || !app.IsMutable(channelName))
        {
            return messages;
        }

        var channel = new ChannelKey(app.Id, channelName);
        var summaries = await Task.WhenAll(messages.Select(m => m.Serial is { } serial
            ? store.GetSummaryAsync(channel, serial, _maxClientIds, cancellationToken).AsTask()
            : Task.FromResult<JsonPayload?>(null))).ConfigureAwait(false);
        var result = new Message[messages.Count];
        for (var i = 0; i < messages.Count; i++)
        {
            result[i] = messages[i];
            if (summaries[i] is { } summary)
            {
                result[i] = messages[i].Clone();
                result[i].Annotations = summary;
            }
        }

        return result;
    }
}
