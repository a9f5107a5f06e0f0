using System.Text.Json;
using Microsoft.Extensions.Options;
using TokenWire.Protocol;
using TokenWire.Server.Auth;
using TokenWire.Server.Channels;
using TokenWire.Server.Configuration;
using TokenWire.Server.Diagnostics;
using TokenWire.Server.Engine;
using TokenWire.Server.Log;
using TokenWire.Server.Push;

using TokenWire.Server.Stats;

namespace TokenWire.Server.Publishing;

/// <summary>
/// The one publish path for realtime and REST: check rights, identity and size, stamp the publisher, append to the
/// log (which orders, deduplicates and delivers). The append is the commit point: once it returns the publish may be
/// acknowledged. Ephemeral messages (<c>extras.ephemeral: true</c>, Ably's transient messages) are not stored: the
/// engine delivers them live only, as they are; they get no serial (null in the ACK) and never appear in history,
/// rewind, <c>getMessage</c> or a resume's replay.
/// </summary>
public sealed class ChannelPublisher(LogWriter log, ChannelRules rules, TimeProvider time, MessageMetrics? metrics = null, StatsRecorder? stats = null, PushQueue? push = null)
{
    /// <param name="connectionId">The publishing realtime connection, or null for REST (whose caller attributes each message).</param>
    /// <param name="order">The realtime publish's place in its connection's order on the channel (none for REST).</param>
    public async ValueTask<AppendResult> PublishAsync(AuthContext auth, string channelName, IReadOnlyList<Message> messages, string? connectionId, CancellationToken cancellationToken, AppendOrder? order = null)
    {
        ChannelNames.Validate(channelName);
        if (!auth.Capability.Allows(channelName, ChannelOperation.Publish))
        {
            throw new ProtocolException(ErrorCodes.OperationNotPermitted, $"Permission denied: no publish capability on channel '{channelName}'");
        }

        var total = 0;
        for (var i = 0; i < messages.Count; i++) // not foreach: an interface's enumerator is an allocation per publish
        {
            var message = messages[i];
            total += message.Size;
            message.ClientId = auth.ClientIdFor(message.ClientId, "Message");
            // A REST caller has set (or cleared) the connectionId of messages published on behalf of a connection.
            message.ConnectionId = connectionId ?? message.ConnectionId;
            message.ConnectionKey = null;
        }

        auth.App.EnsureWithinMessageSize(total);
        CountInbound(stats, auth, connectionId, messages.Count, total);

        var channelKey = new ChannelKey(auth.App.Id, channelName);
        if (!HasEphemeral(messages))
        {
            var result = await log.AppendAsync(channelKey, messages, rules.RetentionFor(auth.App, channelName), order, cancellationToken).ConfigureAwait(false);
            metrics?.Published(MessageActions.Create, result.Appended.Count);
            if (result.Appended.Count > 0)
            {
                // Off the hot path: a message without extras is one null check; the queue's worker does the rest.
                push?.OnPublished(auth.App.Id, channelName, messages);
            }

            return result;
        }

        return await PublishWithEphemeralAsync(auth, channelKey, channelName, messages, order, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Stored messages are appended first (one append), then the ephemeral ones go out; serials in input order.</summary>
    private async ValueTask<AppendResult> PublishWithEphemeralAsync(AuthContext auth, ChannelKey channelKey, string channelName, IReadOnlyList<Message> messages, AppendOrder? order, CancellationToken cancellationToken)
    {
        var stored = messages.Where(m => !IsEphemeral(m)).ToList();
        var appended = stored.Count == 0
            ? new AppendResult([], [], string.Empty)
            : await log.AppendAsync(channelKey, stored, rules.RetentionFor(auth.App, channelName), order, cancellationToken).ConfigureAwait(false);
        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        var serials = new string?[messages.Count];
        var ephemeral = new List<Message>();
        for (int i = 0, s = 0; i < messages.Count; i++)
        {
            var message = messages[i];
            if (IsEphemeral(message))
            {
                message.Timestamp = now;
                message.Action ??= MessageActions.Create;
                ephemeral.Add(message);
            }
            else
            {
                serials[i] = appended.Serials[s++];
            }
        }

        await log.PublishEphemeralAsync(channelKey, ephemeral, cancellationToken).ConfigureAwait(false);
        metrics?.Published(MessageActions.Create, appended.Appended.Count);
        metrics?.PublishedEphemeral(ephemeral.Count);
        push?.OnPublished(auth.App.Id, channelName, messages);
        return new AppendResult(serials, appended.Appended, appended.Epoch);
    }

    /// <summary>Inbound stats: a realtime connection's publish or a REST one, counted once it passed the checks.</summary>
    internal static void CountInbound(StatsRecorder? stats, AuthContext auth, string? connectionId, int messages, long bytes)
    {
        if (connectionId is null)
        {
            stats?.For(auth.App.Id).Add(StatsCounter.InboundRestMessagesCount, messages, StatsCounter.InboundRestMessagesData, bytes);
        }
        else
        {
            stats?.For(auth.App.Id).Add(StatsCounter.InboundRealtimeMessagesCount, messages, StatsCounter.InboundRealtimeMessagesData, bytes);
        }
    }

    private static bool HasEphemeral(IReadOnlyList<Message> messages)
    {
        for (var i = 0; i < messages.Count; i++)
        {
            if (IsEphemeral(messages[i]))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary><c>extras.ephemeral: true</c>. The bytes are searched first, so ordinary extras are never parsed.</summary>
    private static bool IsEphemeral(Message message)
    {
        if (message.Extras is not { } extras || extras.Utf8Json.Span.IndexOf("\"ephemeral\""u8) < 0)
        {
            return false;
        }

        using var document = JsonDocument.Parse(extras.Utf8Json);
        return document.RootElement.ValueKind == JsonValueKind.Object
            && document.RootElement.TryGetProperty("ephemeral", out var flag)
            && flag.ValueKind == JsonValueKind.True;
    }
}
