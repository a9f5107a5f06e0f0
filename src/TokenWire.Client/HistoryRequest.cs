namespace TokenWire.Client;

/// <summary>History query (reference §5.4). All fields optional; the server defaults to 100 newest-first.</summary>
public sealed record HistoryRequest
{
    public static HistoryRequest Default { get; } = new();

    /// <summary>Page size, 1-1000.</summary>
    public int? Limit { get; init; }

    public HistoryDirection Direction { get; init; } = HistoryDirection.Backwards;

    /// <summary>Earliest message time, inclusive.</summary>
    public DateTimeOffset? Start { get; init; }

    /// <summary>Latest message time, inclusive.</summary>
    public DateTimeOffset? End { get; init; }

    /// <summary>
    /// Realtime channels only: return only messages published before the channel attached, i.e. up to its attach
    /// serial (sent as <c>from_serial</c>). Together with a subscription this gives every message exactly once.
    /// </summary>
    public bool UntilAttach { get; init; }
}
