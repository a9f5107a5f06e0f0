using TokenWire.Server.Log;

namespace TokenWire.Server.Bus;

/// <summary>
/// What crosses the bus for one append: the appended entries of one channel, in log order, all from one publish.
/// <see cref="PublisherConnectionId"/> travels beside the messages so echo suppression needs no re-encoding.
/// </summary>
public sealed record BusEnvelope(string ChannelKey, string Epoch, IReadOnlyList<LogEntry> Entries, string? PublisherConnectionId)
{
    public long FirstOffset => Entries[0].Offset;

    public long LastOffset => Entries[^1].Offset;
}
