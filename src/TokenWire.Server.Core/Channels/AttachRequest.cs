using TokenWire.Protocol.Serials;

namespace TokenWire.Server.Channels;

/// <summary>
/// What an ATTACH asks to be replayed: from a channelSerial (resume/recover; <see cref="ResumeMark"/> is its annotation
/// mark, <see cref="ChannelSerials"/>) or a rewind by count or age.
/// </summary>
public sealed record AttachRequest(LogPosition? ResumeFrom, int? RewindCount, TimeSpan? RewindAge, long ResumeMark = 0)
{
    public static AttachRequest Fresh { get; } = new(null, null, null);
}
