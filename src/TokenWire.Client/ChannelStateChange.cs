using TokenWire.Protocol;

namespace TokenWire.Client;

/// <summary>Arguments of <see cref="RealtimeChannel.StateChanged"/> (spec TH1-TH6).</summary>
/// <param name="Previous">The state left (equal to <paramref name="Current"/> for an update while attached).</param>
/// <param name="Current">The state entered.</param>
/// <param name="Reason">The error behind the change, e.g. 40160 refused, 90007 timed out, 90003 continuity lost, 40018 a delta
/// that could not be decoded (re-attaching).</param>
/// <param name="Resumed">ATTACHED with RESUMED: nothing was missed since the previous attachment.</param>
/// <param name="HasBacklog">ATTACHED with HAS_BACKLOG: a rewind backlog follows.</param>
public sealed record ChannelStateChange(ChannelState Previous, ChannelState Current, ErrorInfo? Reason, bool Resumed = false, bool HasBacklog = false);
