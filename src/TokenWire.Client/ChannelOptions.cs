namespace TokenWire.Client;

/// <summary>
/// Options of one realtime channel, sent with every ATTACH. Changes made through <see cref="RealtimeChannels.Get"/>
/// apply from the next attach.
/// </summary>
public sealed record ChannelOptions
{
    public static ChannelOptions Default { get; } = new();

    /// <summary>The delta format TokenWire and Ably serve: VCDIFF (RFC 3284).</summary>
    public const string VcdiffDelta = "vcdiff";

    /// <summary>Channel params, e.g. <c>rewind</c> = <c>"10"</c> or <c>"30s"</c> (reference §4.5).</summary>
    public IReadOnlyDictionary<string, string>? Params { get; init; }

    /// <summary>Modes to request; <see cref="ChannelModes.None"/> lets the server grant its defaults. A publish-only
    /// channel (<see cref="ChannelModes.Publish"/>) receives no messages.</summary>
    public ChannelModes Modes { get; init; }

    /// <summary>
    /// <see cref="VcdiffDelta"/> asks the server for each message as a delta against the previous one (channel param
    /// <c>delta</c>, as ably-js's <c>params: { delta: 'vcdiff' }</c>), which the client decodes before delivery:
    /// subscribers see whole payloads either way. Worth it for streams of similar payloads, such as full snapshots.
    /// </summary>
    public string? Delta { get; init; }

    /// <summary>Subscribing on a channel that is not attached attaches it (Ably attachOnSubscribe).</summary>
    public bool AttachOnSubscribe { get; init; } = true;
}
