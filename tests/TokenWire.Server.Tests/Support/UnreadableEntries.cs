using TokenWire.Server.Log;

namespace TokenWire.Server.Tests.Support;

/// <summary>A read's entries whose messages may not be read, only their stored form: what proves a reader did not decode them.</summary>
internal sealed class UnreadableEntries(IReadOnlyList<LogEntry> entries) : IReadOnlyList<LogEntry>, IStoredEntries
{
    public int Count => entries.Count;

    public LogEntry this[int index] => throw new InvalidOperationException($"entry {index} was decoded");

    public bool TryGetStored(int index, out StoredEntry entry) => ((IStoredEntries)entries).TryGetStored(index, out entry);

    public IEnumerator<LogEntry> GetEnumerator() => throw new InvalidOperationException("the entries were decoded");

    System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
}
