namespace TokenWire.Protocol;

/// <summary>
/// The fields of a message that its MESSAGE frame carries for it (<see cref="MessageFrames"/>): written by the frame,
/// left out of the message object, which the SDKs fill in from the frame (TM2c, TM2f).
/// </summary>
[Flags]
public enum InheritedFields
{
    None = 0,
    ConnectionId = 1,
    Timestamp = 2,
}
