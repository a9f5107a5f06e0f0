using System.Globalization;
using TokenWire.Protocol;

namespace TokenWire.Server.Connections;

/// <summary>
/// Ably's <c>appendRollupWindow</c> transport param of a publishing connection: appends it makes to one message
/// within the window after one went out are delivered to subscribers as one rolled-up <c>message.append</c>, so a
/// response costs about 1/window deliveries a second however fast the model streams. Every append is still stored
/// and acknowledged on its own.
/// </summary>
public static class AppendRollup
{
    /// <summary>Ably's default: about 25 deliveries a second per streamed response.</summary>
    public static readonly TimeSpan DefaultWindow = TimeSpan.FromMilliseconds(40);

    /// <summary>The windows Ably accepts, in milliseconds; 0 turns rollup off.</summary>
    private static readonly int[] AllowedMilliseconds = [0, 20, 40, 100, 500];

    /// <summary>The window a connect asks for (<see cref="DefaultWindow"/> when absent); 40003 for any other value.</summary>
    public static TimeSpan ParseWindow(string? value)
    {
        if (string.IsNullOrEmpty(value))
        {
            return DefaultWindow;
        }

        if (int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var ms) && Array.IndexOf(AllowedMilliseconds, ms) >= 0)
        {
            return TimeSpan.FromMilliseconds(ms);
        }

        throw new ProtocolException(ErrorCodes.InvalidParameterValue, $"Invalid appendRollupWindow '{value}': use one of {string.Join(", ", AllowedMilliseconds)} (milliseconds)");
    }
}
