using TokenWire.Protocol.Serials;

namespace TokenWire.Server.Channels;

/// <summary>What an ATTACH asks to be replayed: from a channelSerial (resume/recover) or a rewind by count or age.</summary>
public sealed record AttachRequest(LogPosition? ResumeFrom, int? RewindCount, TimeSpan? RewindAge)
{
    public static AttachRequest Fresh { get; } = new(null, null, null);
}
