using TokenWire.Protocol;

namespace TokenWire.Server.Log;

/// <summary>
/// One update, delete or append of the message at <see cref="OriginalOffset"/>, checked by the log atomically with
/// the append. <see cref="Operation"/> carries the action, id, connectionId, the <c>version</c> (clientId,
/// description, metadata; the log adds serial and timestamp) and whatever name, data, encoding and extras it changes.
/// Without <see cref="MayChangeAny"/> the original's clientId must equal <see cref="ActorClientId"/> (the -own rights).
/// </summary>
public sealed record MessageMutation(string OriginalEpoch, long OriginalOffset, Message Operation, string? ActorClientId, bool MayChangeAny);
