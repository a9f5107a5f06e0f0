using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using TokenWire.Protocol;
using TokenWire.Server.Auth;
using TokenWire.Server.Configuration;
using TokenWire.Server.Engine;
using TokenWire.Server.Log;

namespace TokenWire.Server.Presence;

/// <summary>
/// The one path for presence changes — a client's ENTER/UPDATE/LEAVE, the leaves a detach, close or lasting disconnect
/// implies, sandbox fixtures: apply to the <see cref="IPresenceStore"/> (which broadcasts), then record the events in
/// the channel's presence history, a log of its own next to the message log.
/// </summary>
public sealed partial class PresenceService(
    IPresenceStore store,
    IMessageLog log,
    EngineOutage outage,
    ChannelRules rules,
    AppRegistry apps,
    IOptions<TokenWireOptions> options,
    TimeProvider time,
    NodeInstance node,
    ILogger<PresenceService> logger)
{
    /// <summary>Names this process in member owners, so a node can tell its own members from those re-entered elsewhere.</summary>
    private readonly string _nodeInstance = node.Id;
    private long _leaveIds;

    public IPresenceStore Store { get; } = store;

    /// <summary>The presence history log of a channel: its key plus a suffix no channel name can contain (control characters are refused).</summary>
    public static ChannelKey HistoryKey(ChannelKey channel) => channel with { Name = channel.Name + "\u001Fpresence" };


    /// <summary>The owner of sandbox fixture members: this node, on no connection (they never leave by themselves).</summary>
    public string FixtureOwner => string.Concat(_nodeInstance, "/sandbox-fixtures");

    /// <summary>The owner recorded for members a connection enters through this node.</summary>
    public string OwnerOf(string connectionId) => string.Concat(_nodeInstance, "/", connectionId);

    public async ValueTask<IReadOnlyList<PresenceMessage>> ApplyAsync(AppDefinition app, string channelName, IReadOnlyList<PresenceChange> changes, CancellationToken cancellationToken)
    {
        var channelKey = new ChannelKey(app.Id, channelName);
        // An apply retried after an outage is harmless: a change that already took effect publishes no second event.
        var events = await outage.WaitOutAsync(() => Store.ApplyAsync(channelKey, changes, app.MaxPresenceMembers, cancellationToken), cancellationToken).ConfigureAwait(false);
        if (events.Count > 0)
        {
            var entries = new Message[events.Count];
            for (var i = 0; i < entries.Length; i++)
            {
                entries[i] = events[i].ToMessage();
            }

            await outage.WaitOutAsync(() => log.AppendAsync(HistoryKey(channelKey), entries, rules.RetentionFor(app, channelName), cancellationToken: cancellationToken), cancellationToken).ConfigureAwait(false);
        }

        return events;
    }

    /// <summary>
    /// Leaves <paramref name="members"/> of connection <paramref name="connectionId"/> (taken from its
    /// <see cref="PresenceMemberships"/>), one apply per channel. With <paramref name="onlyIfOwner"/> a member stays when
    /// another node holds it now. A failure is logged, not thrown: the connection has let go of the members either way.
    /// </summary>
    public async Task LeaveAsync(AppDefinition app, string connectionId, List<(string Channel, string ClientId)> members, bool onlyIfOwner)
    {
        var owner = OwnerOf(connectionId);
        foreach (var group in members.GroupBy(m => m.Channel))
        {
            var changes = group.Select(m => new PresenceChange(Leave(m.ClientId, connectionId), owner, onlyIfOwner)).ToList();
            try
            {
                await ApplyAsync(app, group.Key, changes, CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                LeaveFailed(logger, ex, connectionId, group.Key);
            }
        }
    }

    /// <summary>
    /// Runs <paramref name="leave"/> once <see cref="PresenceOptions.LeaveDelay"/> has passed (Ably removes the members of
    /// an abruptly disconnected connection about 15 s later), unless <paramref name="memberships"/>' pending leave is
    /// replaced or cancelled first.
    /// </summary>
    public void ScheduleLeave(PresenceMemberships memberships, Action leave) =>
        memberships.SetPendingLeave(time.CreateTimer(_ => leave(), null, options.Value.Presence.LeaveDelay, Timeout.InfiniteTimeSpan));

    /// <summary>
    /// Removes members whose owner is gone (an engine found its node dead), each only while that owner still holds it:
    /// a member re-entered since through another node stays. The leaves are broadcast and recorded like any other.
    /// </summary>
    /// <returns>How many members left.</returns>
    public async Task<int> LeaveOwnedAsync(ChannelKey channelKey, IReadOnlyList<(string ClientId, string ConnectionId, string Owner)> members, CancellationToken cancellationToken)
    {
        var changes = members.Select(m => new PresenceChange(Leave(m.ClientId, m.ConnectionId), m.Owner, OnlyIfOwner: true)).ToList();
        if (apps.FindApp(channelKey.AppId) is { } app)
        {
            return (await ApplyAsync(app, channelKey.Name, changes, cancellationToken).ConfigureAwait(false)).Count;
        }

        // The app is no longer configured here: nothing to record its history under, but the members must go.
        return (await Store.ApplyAsync(channelKey, changes, 0, cancellationToken).ConfigureAwait(false)).Count;
    }

    private PresenceMessage Leave(string clientId, string connectionId) => new()
    {
        // A server-made id (not prefixed by the connectionId): clients compare it by timestamp (RTP2b1).
        Id = string.Concat("leave-", _nodeInstance, "-", Interlocked.Increment(ref _leaveIds).ToString(System.Globalization.CultureInfo.InvariantCulture), ":0:0"),
        Action = PresenceAction.Leave,
        ClientId = clientId,
        ConnectionId = connectionId,
        Timestamp = time.GetUtcNow().ToUnixTimeMilliseconds(),
    };

    [LoggerMessage(Level = LogLevel.Warning, Message = "Connection {ConnectionId}: removing its presence members from {Channel} failed")]
    private static partial void LeaveFailed(ILogger logger, Exception exception, string connectionId, string channel);
}
