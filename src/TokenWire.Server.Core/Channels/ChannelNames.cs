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
            // Where a qualifier is served (ATTACH, publish, REST messages) QualifiedChannelName strips it first; here a
            // '[' is a qualifier that has no meaning, or a second one.
            throw new ProtocolException(ErrorCodes.InvalidChannelName, $"Invalid channel name '{name}': a qualified name ('[…]name') is not supported here");
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
