using Microsoft.Extensions.Options;
using TokenWire.Protocol;
using TokenWire.Server.Auth;
using TokenWire.Server.Configuration;
using TokenWire.Server.Engine;
using TokenWire.Server.Log;

namespace TokenWire.Server.Annotations;

/// <summary>
/// Messages as REST reads show them (TM2u): history and <c>getMessage</c> carry each message's latest annotation
/// summary. Only mutable channels can have annotations, and a channel's annotation sequence stays 0 until its first
/// one, so other channels' reads, and those of a mutable channel never annotated, cost one look-up at most.
/// </summary>
public sealed class SummaryReader(IAnnotationStore store, IOptions<TokenWireOptions> options)
{
    private readonly int _maxClientIds = Math.Max(0, options.Value.Annotations.MaxSummaryClientIds);

    /// <summary>
    /// Each history entry's summary, in the entries' order; null when none has one. Entries the log gives as stored
    /// (<see cref="IStoredEntries"/>) are not decoded for it.
    /// </summary>
    public async ValueTask<JsonPayload?[]?> ForEntriesAsync(AppDefinition app, string channelName, IReadOnlyList<LogEntry> entries, CancellationToken cancellationToken)
    {
        var channel = new ChannelKey(app.Id, channelName);
        if (!await MayHaveAnyAsync(app, channel, entries.Count, cancellationToken).ConfigureAwait(false))
        {
            return null;
        }

        var stored = entries as IStoredEntries;
        return await LookUpAsync(channel, entries.Count, i => stored is not null && stored.TryGetStored(i, out var entry) && entry.Position is { } position
            ? position.ToSerial()
            : entries[i].Message.Serial, cancellationToken).ConfigureAwait(false);
    }

    /// <summary><paramref name="messages"/> with their summaries; a message with one is copied, never changed in place.</summary>
    public async ValueTask<IReadOnlyList<Message>> WithSummariesAsync(AppDefinition app, string channelName, IReadOnlyList<Message> messages, CancellationToken cancellationToken)
    {
        var channel = new ChannelKey(app.Id, channelName);
        if (!await MayHaveAnyAsync(app, channel, messages.Count, cancellationToken).ConfigureAwait(false)
            || await LookUpAsync(channel, messages.Count, i => messages[i].Serial, cancellationToken).ConfigureAwait(false) is not { } summaries)
        {
            return messages;
        }

        var result = new Message[messages.Count];
        for (var i = 0; i < messages.Count; i++)
        {
            result[i] = messages[i];
            if (summaries[i] is { } summary)
            {
                result[i] = WithSummary(messages[i], summary);
            }
        }

        return result;
    }

    /// <summary>A copy of <paramref name="message"/> carrying <paramref name="summary"/>: a read's messages are the
    /// log's, shared, and never changed in place.</summary>
    public static Message WithSummary(Message message, JsonPayload summary)
    {
        var summarised = message.Clone();
        summarised.Annotations = summary;
        return summarised;
    }

    private async ValueTask<bool> MayHaveAnyAsync(AppDefinition app, ChannelKey channel, int count, CancellationToken cancellationToken) =>
        count > 0 && app.IsMutable(channel.Name) && await store.GetSequenceAsync(channel, cancellationToken).ConfigureAwait(false) > 0;

    /// <summary>The summaries of the serials <paramref name="serialAt"/> gives, looked up together; a look-up the store
    /// answered at once (the in-memory one always does) is taken without a <see cref="Task"/>.</summary>
    private async ValueTask<JsonPayload?[]?> LookUpAsync(ChannelKey channel, int count, Func<int, string?> serialAt, CancellationToken cancellationToken)
    {
        var summaries = new JsonPayload?[count];
        List<(int Index, Task<JsonPayload?> Summary)>? pending = null;
        for (var i = 0; i < count; i++)
        {
            if (serialAt(i) is not { } serial)
            {
                continue;
            }

            var summary = store.GetSummaryAsync(channel, serial, _maxClientIds, cancellationToken);
            if (summary.IsCompletedSuccessfully)
            {
                summaries[i] = summary.Result;
            }
            else
            {
                (pending ??= []).Add((i, summary.AsTask()));
            }
        }

        if (pending is not null)
        {
            await Task.WhenAll(pending.Select(p => p.Summary)).ConfigureAwait(false);
            foreach (var (index, summary) in pending)
            {
                summaries[index] = await summary.ConfigureAwait(false);
            }
        }

        return Array.Exists(summaries, s => s is not null) ? summaries : null;
    }
}
