using System.Globalization;

namespace TokenWire.Protocol.Serials;

/// <summary>
/// A position in one channel's message log. <see cref="Offset"/> counts messages from 1; 0 is "before the first".
/// <see cref="Epoch"/> names one incarnation of the log: if a log is lost and rebuilt, offsets restart, and a
/// position from the old epoch no longer means the same thing (so it cannot be resumed from). Epochs are
/// fixed-width, increasing strings, which keeps serials of a rebuilt log sorting after the old ones.
/// </summary>
public readonly record struct LogPosition(string Epoch, long Offset)
{
    /// <summary>Digits in the offset part of a serial; fixed width keeps serials lexicographically ordered.</summary>
    public const int OffsetDigits = 12;

    /// <summary>Digits in an epoch made from a Unix-millisecond time.</summary>
    public const int EpochDigits = 14;

    public static string NewEpoch(DateTimeOffset now) =>
        now.ToUnixTimeMilliseconds().ToString("D" + EpochDigits, CultureInfo.InvariantCulture);

    /// <summary>The Ably <c>serial</c>/<c>channelSerial</c> form: <c>epoch-offset</c>, both zero-padded.</summary>
    public string ToSerial()
    {
        ArgumentOutOfRangeException.ThrowIfNegative(Offset);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(Offset, MaxOffset);
        return Format();
    }

    /// <summary>The largest offset that fits the fixed-width serial.</summary>
    public const long MaxOffset = 999_999_999_999;

    /// <summary>The serial (<see cref="ToSerial"/>) written into <paramref name="destination"/>, without a string; false when it does not fit.</summary>
    public bool TryFormat(Span<char> destination, out int written)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(Offset);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(Offset, MaxOffset);
        written = Epoch.Length + 1 + OffsetDigits;
        if (destination.Length < written)
        {
            written = 0;
            return false;
        }

        Write(destination, this);
        return true;
    }

    private string Format() => string.Create(Epoch.Length + 1 + OffsetDigits, this, Write);

    private static void Write(Span<char> span, LogPosition position)
    {
        position.Epoch.AsSpan().CopyTo(span);
        span[position.Epoch.Length] = '-';
        position.Offset.TryFormat(span[(position.Epoch.Length + 1)..], out _, "D12", CultureInfo.InvariantCulture); // OffsetDigits
    }

    public LogPosition WithOffset(long offset) => new(Epoch, offset);

    public static bool TryParse(string? serial, out LogPosition position)
    {
        position = default;
        if (string.IsNullOrEmpty(serial))
        {
            return false;
        }

        var dash = serial.LastIndexOf('-');
        if (dash <= 0 || serial.Length - dash - 1 != OffsetDigits)
        {
            return false;
        }

        var epoch = serial[..dash];
        foreach (var c in epoch)
        {
            if (!char.IsAsciiDigit(c))
            {
                return false;
            }
        }

        if (!long.TryParse(serial.AsSpan(dash + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var offset))
        {
            return false;
        }

        position = new LogPosition(epoch, offset);
        return true;
    }

    public override string ToString() => ToSerial();
}
