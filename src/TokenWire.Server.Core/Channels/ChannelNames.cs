using TokenWire.Protocol;

namespace TokenWire.Server.Channels;

/// <summary>Ably channel-name rules: non-empty, no leading <c>:</c>, no control characters, bounded length.</summary>
public static class ChannelNames
{
    /// <summary>Long enough for any real name; bounds per-channel key memory.</summary>
    public const int MaxLength = 1024;

    public static void Validate(string? name)
    {
        if (string.IsNullOrEmpty(name))
        {
            throw new ProtocolException(ErrorCodes.InvalidChannelName, "Channel name must not be empty");
        }

        if (name.Length > MaxLength)
        {
            throw new ProtocolException(ErrorCodes.InvalidChannelName, $"Channel name longer than {MaxLength} characters");
        }

        if (name[0] == ':')
        {
            throw new ProtocolException(ErrorCodes.InvalidChannelName, $"Invalid channel name '{name}': it must not start with ':'");
        }

        if (name[0] == '[')
        {
            // Qualified names ([?rewind=1]name, [meta]…) are not served yet; refuse them rather than mis-route.
            throw new ProtocolException(ErrorCodes.InvalidChannelName, $"Channel name qualifiers are not supported: '{name}'");
        }

        foreach (var c in name)
        {
            if (char.IsControl(c))
            {
                throw new ProtocolException(ErrorCodes.InvalidChannelName, "Channel name contains control characters");
            }
        }
    }
}
