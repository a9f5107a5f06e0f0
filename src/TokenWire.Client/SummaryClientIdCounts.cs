namespace TokenWire.Client;

/// <summary>
/// One name of a <c>multiple.v1</c> entry: the sum of every count (<see cref="Total"/>), each identified client's sum
/// (<see cref="ClientIds"/>, possibly clipped; <see cref="TotalClientIds"/> says how many there are) and the sum from
/// clients without a clientId (<see cref="TotalUnidentified"/>).
/// </summary>
public sealed record SummaryClientIdCounts(long Total, IReadOnlyDictionary<string, long> ClientIds, long TotalUnidentified, bool Clipped, long TotalClientIds);
