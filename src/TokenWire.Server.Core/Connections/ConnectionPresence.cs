using TokenWire.Server.Presence;

namespace TokenWire.Server.Connections;

/// <summary>
/// A connection's presence members leave with it: at once when it closes or detaches their channel, after the leave
/// delay when its transport is lost and no other binds it meanwhile. That rule reads the connection (its transport, its
/// memberships), so it lives here, over <see cref="PresenceService"/>'s operations, which know no connection: presence
/// sits below connections (docs/architecture.md, "Layers").
/// </summary>
public static class ConnectionPresence
{
    /// <summary>The owner recorded for members <paramref name="connection"/> enters through this node.</summary>
    public static string OwnerOf(this PresenceService presence, RealtimeConnection connection) => presence.OwnerOf(connection.Id);

    /// <summary>Leaves the connection's members on one channel (DETACH) or all channels (CLOSE), at once.</summary>
    public static Task LeaveAsync(this PresenceService presence, RealtimeConnection connection, string? channel) =>
        presence.LeaveAsync(connection.Auth.App, connection.Id, connection.Presence.TakeAll(channel), onlyIfOwner: false);

    /// <summary>
    /// The connection lost its transport: its members leave after the leave delay unless a transport binds it again
    /// first (<see cref="RealtimeConnection.Bind"/> cancels the pending leave). Each leaves only while this node still
    /// owns it, so a member re-entered through another node after a resume there stays.
    /// </summary>
    public static void ScheduleLeave(this PresenceService presence, RealtimeConnection connection)
    {
        if (connection.Presence.IsEmpty)
        {
            return;
        }

        presence.ScheduleLeave(connection.Presence, () =>
        {
            if (connection.Transport is null)
            {
                _ = presence.LeaveAsync(connection.Auth.App, connection.Id, connection.Presence.TakeAll(), onlyIfOwner: true);
            }
        });
    }
}
