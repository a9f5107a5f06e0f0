namespace TokenWire.Client;

/// <summary>
/// A received message's <c>version</c> (reference §3.1): which update, delete or append produced this form of the
/// message. For an unchanged message the server reports the message's own serial and timestamp.
/// </summary>
public sealed record MessageVersion(
    string? Serial,
    DateTimeOffset? Timestamp,
    string? ClientId,
    string? Description,
    IReadOnlyDictionary<string, string>? Metadata);
