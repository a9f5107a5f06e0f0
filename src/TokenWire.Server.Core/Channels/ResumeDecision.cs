using TokenWire.Protocol.Serials;

namespace TokenWire.Server.Channels;

/// <summary>
/// The one home of the resume rule: whether an attach may continue from a client's channelSerial. A position in the
/// log's current epoch at or before the attach point can be continued (its gap is then replayed, if the log still
/// has it); another epoch (the log was rebuilt) or a position past the attach point is continuity lost. So is an
/// annotation mark past the attach's (<see cref="ChannelSerials"/>: this node has not yet delivered annotations the
/// client has, and would send them again).
/// </summary>
public static class ResumeDecision
{
    public static bool CanContinue(LogPosition from, LogPosition attachPosition) =>
        from.Epoch == attachPosition.Epoch && from.Offset >= 0 && from.Offset <= attachPosition.Offset;

    public static bool CanContinue(LogPosition from, long fromMark, LogPosition attachPosition, long attachMark) =>
        CanContinue(from, attachPosition) && fromMark >= 0 && fromMark <= attachMark;
}
