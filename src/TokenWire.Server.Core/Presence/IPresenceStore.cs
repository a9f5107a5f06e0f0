using TokenWire.Protocol;
using TokenWire.Server.Engine;

namespace TokenWire.Server.Presence;

/// <summary>
/// Where each channel's presence set lives and how its changes reach every node (reference §4.11). The embedded
/// engine keeps it in this node's memory (<see cref="InMemoryPresenceStore"/>); a scale-out engine shares it.
/// <list type="bullet">
/// <item><see cref="ApplyAsync"/> applies changes atomically per channel with the rules of <see cref="PresenceSet"/> and
/// publishes the resulting events, in the order applied, to every subscriber of the channel on every node.</item>
/// <item>Presence is state, not a log: a subscriber that misses events (a dropped link) is made whole by the SYNC every
/// attach sends, so delivery may be best-effort; order per channel must hold.</item>
/// <item>A member belongs to the node-side owner that last entered it (<see cref="PresenceChange.Owner"/>): a leave
/// conditioned on its owner does nothing once another node has taken the connection over and re-entered.</item>
/// </list>
/// Handlers must be quick and must not throw; they may be called on the store's thread.
/// </summary>
public interface IPresenceStore
{
    /// <summary>Applies one connection's changes in order; returns the events published (possibly none).</summary>
    /// <exception cref="ProtocolException">91003 when an enter would take the channel past <paramref name="maxMembers"/>; nothing is applied.</exception>
    ValueTask<IReadOnlyList<PresenceMessage>> ApplyAsync(ChannelKey channel, IReadOnlyList<PresenceChange> changes, int maxMembers, CancellationToken cancellationToken = default);

    /// <summary>The channel's current members, each as a PRESENT message, ordered by member key.</summary>
    ValueTask<IReadOnlyList<PresenceMessage>> GetMembersAsync(ChannelKey channel, CancellationToken cancellationToken = default);

    /// <summary>Starts delivering the channel's presence events to <paramref name="handler"/> until the result is disposed.</summary>
    ValueTask<IAsyncDisposable> SubscribeAsync(ChannelKey channel, Action<PresenceEvent> handler, CancellationToken cancellationToken = default);
}
