namespace TokenWire.Server.Log;

/// <summary>A message as created and every version of it since, oldest first (<c>getMessage</c>, <c>getMessageVersions</c>).</summary>
public sealed record MessageVersions(LogEntry Original, IReadOnlyList<LogEntry> Versions)
{
    /// <summary>The message as it stands after all its versions.</summary>
    public Protocol.Message Latest() => MessageAggregation.Fold(Original, Versions, long.MaxValue);
}
