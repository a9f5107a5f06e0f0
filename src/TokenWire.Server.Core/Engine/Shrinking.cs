namespace TokenWire.Server.Engine;

/// <summary>
/// When the in-memory engine copies a collection into a smaller one. A list, dictionary or queue keeps the largest
/// capacity it ever grew to: after a publish flood that is megabytes per channel, held for as long as the channel
/// exists, long after the flood's messages have expired. Checked by the log's sweeper, so rarely; the margin is wide
/// enough that a steady load (whose collections are at most a few times their count) never pays a copy.
/// </summary>
internal static class Shrinking
{
    public static int Oversized(int count) => (8 * count) + 1024;

    public static void IfOversized<TKey, TValue>(Dictionary<TKey, TValue> dictionary)
        where TKey : notnull
    {
        if (dictionary.EnsureCapacity(0) > Oversized(dictionary.Count))
        {
            dictionary.TrimExcess();
        }
    }
}
