namespace TokenWire.Client;

/// <summary>A <c>total.v1</c> summary entry: how many annotations of the type the message has.</summary>
public sealed record SummaryTotal(long Total);
