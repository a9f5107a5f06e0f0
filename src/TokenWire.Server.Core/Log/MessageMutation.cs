using TokenWire.Protocol;

namespace TokenWire.Server.Log;

/// <summary>
/// One update, delete or append of the message at <see cref="OriginalOffset"/>, checked by the log atomically with
/// the append. <see cref="Operation"/> carries the action, id, connectionId, the <c>version</c> (clientId,
/// description, metadata; the log adds serial and timestamp) and whatever name, data, encoding and extras it changes.
/// Without <see cref="MayChangeAny"/> the original's clientId must equal <see cref="ActorClientId"/> (the -own rights).
/// An append that would make the message's data larger than <see cref="MaxMessageSize"/> bytes is refused (40009)
/// and not folded; 0 = no bound. <see cref="AppendRollupWindow"/> is the acting connection's, carried to every node
/// with the appended entry (engines that publish from the append itself need it there).
/// </summary>
public sealed record MessageMutation(string OriginalEpoch, long OriginalOffset, Message Operation, string? ActorClientId, bool MayChangeAny, int MaxMessageSize = 0, TimeSpan AppendRollupWindow = default);
