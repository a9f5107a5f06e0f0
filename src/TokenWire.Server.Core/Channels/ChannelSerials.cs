using System.Globalization;
using TokenWire.Protocol.Serials;

namespace TokenWire.Server.Channels;

/// <summary>
/// A frame's <c>channelSerial</c>, which the SDK sends back to resume (RTL15b, RTN15c6): the log position, and once the
/// channel has annotation events the annotation mark after a colon (<c>epoch-offset:mark</c>). The mark counts the
/// channel's annotation deliveries: event <c>n</c>'s raw ANNOTATION brings it to <c>2n-1</c>, its
/// <c>message.summary</c> to <c>2n</c>, so a client that got one but not the other is replayed only what it lacks. A
/// serial without a mark is mark 0 (the channel had no annotation events then).
/// </summary>
public static class ChannelSerials
{
    public static string Format(LogPosition position, long mark) =>
        mark <= 0 ? position.ToSerial() : string.Concat(position.ToSerial(), ":", mark.ToString(CultureInfo.InvariantCulture));

    /// <summary>The serial of an already formatted position with the mark appended.</summary>
    public static string Format(string positionSerial, long mark) =>
        mark <= 0 ? positionSerial : string.Concat(positionSerial, ":", mark.ToString(CultureInfo.InvariantCulture));

    public static bool TryParse(string? serial, out LogPosition position, out long mark)
    {
        mark = 0;
        var colon = serial?.IndexOf(':') ?? -1;
        if (colon < 0)
        {
            return LogPosition.TryParse(serial, out position);
        }

        return LogPosition.TryParse(serial![..colon], out position)
            && long.TryParse(serial.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out mark);
    }

    /// <summary>The mark after event <paramref name="sequence"/>'s raw annotation.</summary>
    public static long RawMark(long sequence) => (2 * sequence) - 1;

    /// <summary>The mark after event <paramref name="sequence"/>'s summary (and so after the event).</summary>
    public static long SummaryMark(long sequence) => 2 * sequence;
}
