namespace TokenWire.Protocol;

/// <summary>One ACK <c>res</c> entry: the serial assigned to each message of one acknowledged ProtocolMessage.</summary>
public sealed record PublishResult(IReadOnlyList<string?> Serials);
