namespace TokenWire.Client;

/// <summary>
/// Options of one realtime channel, sent with every ATTACH. Changes made through <see cref="RealtimeChannels.Get"/>
/// apply from the next attach.
/// </summary>
public sealed record ChannelOptions
{
    public static ChannelOptions Default { get; } = new();

    /// <summary>Channel params, e.g. <c>rewind</c> = <c>"10"</c> or <c>"30s"</c> (reference §4.5).</summary>
    public IReadOnlyDictionary<string, string>? Params { get; init; }

    /// <summary>Modes to request; <see cref="ChannelModes.None"/> lets the server grant its defaults. A publish-only
    /// channel (<see cref="ChannelModes.Publish"/>) receives no messages.</summary>
    public ChannelModes Modes { get; init; }

    /// <summary>Subscribing on a channel that is not attached attaches it (Ably attachOnSubscribe).</summary>
    public bool AttachOnSubscribe { get; init; } = true;
}
