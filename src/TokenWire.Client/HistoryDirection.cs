namespace TokenWire.Client;

public enum HistoryDirection
{
    /// <summary>Newest first (the default).</summary>
    Backwards,

    /// <summary>Oldest first.</summary>
    Forwards,
}
