namespace TokenWire.Protocol;

/// <summary>PresenceMessage actions (spec TP2), integers on the wire.</summary>
public enum PresenceAction
{
    Absent = 0,
    Present = 1,
    Enter = 2,
    Leave = 3,
    Update = 4,
}
