using TokenWire.Protocol;
using TokenWire.Protocol.Serials;
using TokenWire.Server.Fanout;
using TokenWire.Server.Log;

namespace TokenWire.Server.Channels;

/// <summary>
/// The state of messages being changed on this channel (<see cref="MessageAggregate"/>), kept as versions are
/// delivered so that each version carries the whole message as of itself, for attachments meeting that message for
/// the first time. An original seen live recently is in a small ring and needs no read; one created before this
/// channel started here (or evicted) is read from the log once, delaying that delivery like a gap fill does.
/// All members run under the channel lock except <see cref="LoadAggregatesAsync"/>'s read.
/// </summary>
public sealed partial class LocalChannel
{
    /// <summary>Recent originals kept for their first version: enough for the creates a burst of streams makes.</summary>
    private const int RecentOriginals = 256;

    /// <summary>Messages being changed at once per channel; the least recently changed is dropped beyond it.</summary>
    private const int MaxAggregates = 1024;

    /// <summary>Known states by original offset; null when the log no longer has the original (versions go out as they are).</summary>
    private readonly Dictionary<long, MessageAggregate?> _aggregates = [];
    private LogEntry?[]? _recent;

    /// <summary>Ring entries at or before this offset may have missed versions (skipped or evicted): not trusted.</summary>
    private long _recentTrustedAfter;

    private bool CanFold(IReadOnlyList<LogEntry> entries)
    {
        for (var i = 0; i < entries.Count; i++) // not foreach: an interface's enumerator is an allocation per publish
        {
            var entry = entries[i];
            if (entry.VersionOf is { } original && !_aggregates.ContainsKey(original) && RecentOriginal(original) is null)
            {
                return false;
            }
        }

        return true;
    }

    private List<(long Original, long Before)> MissingAggregates(IReadOnlyList<LogEntry> entries)
    {
        var missing = new List<(long, long)>();
        foreach (var entry in entries)
        {
            if (entry.VersionOf is { } original && !_aggregates.ContainsKey(original) && RecentOriginal(original) is null
                && !missing.Exists(m => m.Item1 == original))
            {
                missing.Add((original, entry.Offset));
            }
        }

        return missing;
    }

    /// <summary>The message as of <paramref name="entry"/> if it is a version; remembers appendable originals.</summary>
    private MessageSnapshot? Fold(LogEntry entry)
    {
        if (entry.VersionOf is not { } original)
        {
            if (MutationRules.CanAppendTo(MutationRules.DataKind(entry.Message)))
            {
                (_recent ??= new LogEntry?[RecentOriginals])[entry.Offset % RecentOriginals] = entry;
            }

            return null;
        }

        if (!_aggregates.TryGetValue(original, out var aggregate))
        {
            aggregate = MessageAggregate.From(RecentOriginal(original)!, [], entry.Offset);
            Remember(original, aggregate);
        }

        return aggregate?.Apply(entry);
    }

    private LogEntry? RecentOriginal(long offset) =>
        offset > _recentTrustedAfter && _recent?[offset % RecentOriginals] is { } entry && entry.Offset == offset ? entry : null;

    private void Remember(long original, MessageAggregate? aggregate)
    {
        if (_aggregates.Count >= MaxAggregates)
        {
            var oldest = _aggregates.MinBy(a => a.Value?.LastOffset ?? 0);
            _aggregates.Remove(oldest.Key);
            _recentTrustedAfter = Math.Max(_recentTrustedAfter, _cursor);
        }

        _aggregates[original] = aggregate;
    }

    /// <summary>Without subscribers nothing is folded; what was known may go stale, so it is all dropped.</summary>
    private void ForgetAggregates()
    {
        if (_aggregates.Count > 0)
        {
            _aggregates.Clear();
        }

        _recentTrustedAfter = Math.Max(_recentTrustedAfter, _cursor);
    }

    /// <summary>Reads each message's original and versions before the version about to be delivered.</summary>
    private async Task LoadAggregatesAsync(string epoch, List<(long Original, long Before)> needed)
    {
        foreach (var (original, before) in needed)
        {
            var versions = await _log.ReadMessageAsync(Key, new LogPosition(epoch, original)).ConfigureAwait(false);
            var aggregate = versions is null ? null : MessageAggregate.From(versions.Original, versions.Versions, before);
            lock (_gate)
            {
                if (_epoch == epoch && !_aggregates.ContainsKey(original))
                {
                    Remember(original, aggregate);
                }
            }
        }
    }
}
