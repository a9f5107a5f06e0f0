namespace TokenWire.Client;

/// <summary>
/// The clients behind a <c>flag.v1</c> entry, or behind one name of a <c>distinct.v1</c> or <c>unique.v1</c> entry.
/// <see cref="Total"/> is exact; <see cref="ClientIds"/> may be cut short by the server, and then
/// <see cref="Clipped"/> is true.
/// </summary>
public sealed record SummaryClientIdList(long Total, IReadOnlyList<string> ClientIds, bool Clipped);
