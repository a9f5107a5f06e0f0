using System.Globalization;

namespace TokenWire.Server.Annotations;

/// <summary>
/// An annotation's serial: its message's serial and its place among the message's annotations, fixed width, so it
/// sorts after the message and after the message's earlier annotations (the ably-js suite checks both).
/// </summary>
public static class AnnotationSerials
{
    public static string For(string messageSerial, long index) =>
        string.Concat(messageSerial, ":", index.ToString("D9", CultureInfo.InvariantCulture));

    /// <summary>The index a serial of <paramref name="messageSerial"/> names, or -1 when it names none.</summary>
    public static long IndexOf(string messageSerial, string? serial) =>
        serial is not null && serial.Length == messageSerial.Length + 10 && serial.StartsWith(messageSerial, StringComparison.Ordinal) && serial[messageSerial.Length] == ':'
        && long.TryParse(serial.AsSpan(messageSerial.Length + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var index)
            ? index
            : -1;
}
