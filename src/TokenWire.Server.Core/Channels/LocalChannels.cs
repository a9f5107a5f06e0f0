using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using TokenWire.Server.Annotations;
using TokenWire.Server.Engine;
using TokenWire.Server.Log;
using TokenWire.Server.Presence;

namespace TokenWire.Server.Channels;

/// <summary>
/// The node's active <see cref="LocalChannel"/>s, reference-counted by the transports attached to them. A channel
/// follows the bus only while someone here is attached.
/// </summary>
public sealed class LocalChannels(IMessageLog log, IMessageBus bus, IPresenceStore presence, IAnnotationStore annotations, ILogger<LocalChannel> logger, TimeProvider time)
{
    private readonly ConcurrentDictionary<ChannelKey, Lazy<LocalChannel>> _channels = new();

    public int Count => _channels.Count;

    /// <summary>A snapshot of the active channels (stats sample it).</summary>
    public IReadOnlyCollection<ChannelKey> Keys => (IReadOnlyCollection<ChannelKey>)_channels.Keys;

    public LocalChannel? Find(ChannelKey channelKey) => _channels.GetValueOrDefault(channelKey)?.Value;

    /// <summary>Returns the channel with a reference taken; pair with <see cref="Release"/>.</summary>
    public LocalChannel Acquire(ChannelKey channelKey)
    {
        while (true)
        {
            // Lazy so that racing first attaches start one channel (each start subscribes to the bus).
            var lazy = _channels.GetOrAdd(channelKey, key => new Lazy<LocalChannel>(() => new LocalChannel(key, log, bus, presence, logger, time, annotations)));
            if (lazy.Value.TryAddReference())
            {
                return lazy.Value;
            }

            // Closed between lookup and reference: it is being removed; take a fresh one.
            _channels.TryRemove(new KeyValuePair<ChannelKey, Lazy<LocalChannel>>(channelKey, lazy));
        }
    }

    public void Release(LocalChannel channel)
    {
        if (channel.ReleaseReference() && _channels.TryGetValue(channel.Key, out var lazy) && lazy.Value == channel)
        {
            _channels.TryRemove(new KeyValuePair<ChannelKey, Lazy<LocalChannel>>(channel.Key, lazy));
        }
    }
}
