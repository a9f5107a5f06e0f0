namespace TokenWire.Server.Configuration;

public sealed class PresenceOptions
{
    /// <summary>
    /// How long the members of an abruptly disconnected connection stay present, waiting for it to resume (Ably: about
    /// 15 s). A clean close or a DETACH removes them at once.
    /// </summary>
    public TimeSpan LeaveDelay { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>Members per SYNC frame sent after an ATTACHED with HAS_PRESENCE.</summary>
    public int SyncPageSize { get; set; } = 100;
}
