using System.Collections;
using System.Diagnostics.CodeAnalysis;
using TokenWire.Client.Internal;
using TokenWire.Protocol;

namespace TokenWire.Client;

/// <summary>The client's channels by name (spec RTS). Getting a channel does not attach it.</summary>
public sealed class RealtimeChannels : IEnumerable<RealtimeChannel>
{
    private readonly Dictionary<string, RealtimeChannel> _channels = new(StringComparer.Ordinal);
    private readonly Connection _connection;
    private readonly RestClient _rest;
    private readonly EventDispatcher _events;
    private readonly RealtimeClientOptions _options;

    internal RealtimeChannels(Connection connection, RestClient rest, EventDispatcher events, RealtimeClientOptions options)
    {
        _connection = connection;
        _rest = rest;
        _events = events;
        _options = options;
    }

    /// <summary>The channel called <paramref name="name"/>, created on first use. Options given for an existing
    /// channel replace its options and take effect at its next attach.</summary>
    public RealtimeChannel Get(string name, ChannelOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        lock (_connection.Gate)
        {
            if (_channels.TryGetValue(name, out var existing))
            {
                if (options is not null)
                {
                    existing.OptionsLocked = options;
                }

                return existing;
            }

            var channel = new RealtimeChannel(name, options ?? ChannelOptions.Default, _connection, _rest, _events, _options);
            _channels.Add(name, channel);
            return channel;
        }
    }

    public bool TryGet(string name, [NotNullWhen(true)] out RealtimeChannel? channel)
    {
        lock (_connection.Gate)
        {
            return _channels.TryGetValue(name, out channel);
        }
    }

    /// <summary>Detaches the channel, ends its subscriptions and forgets it (spec RTS4).</summary>
    public async Task ReleaseAsync(string name, CancellationToken cancellationToken = default)
    {
        if (!TryGet(name, out var channel))
        {
            return;
        }

        try
        {
            await channel.DetachAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (AblyException)
        {
            // A failed or unreachable channel is released all the same.
        }

        lock (_connection.Gate)
        {
            if (_channels.TryGetValue(name, out var current) && current == channel)
            {
                _channels.Remove(name);
            }
        }

        channel.CompleteSubscriptions();
    }

    public IEnumerator<RealtimeChannel> GetEnumerator()
    {
        RealtimeChannel[] snapshot;
        lock (_connection.Gate)
        {
            snapshot = [.. _channels.Values];
        }

        return ((IEnumerable<RealtimeChannel>)snapshot).GetEnumerator();
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    internal RealtimeChannel? Find(string name)
    {
        lock (_connection.Gate)
        {
            return _channels.GetValueOrDefault(name);
        }
    }

    internal void OnConnectedLocked()
    {
        foreach (var channel in _channels.Values)
        {
            channel.OnConnectedLocked();
        }
    }

    internal void OnConnectionSuspendedLocked(ErrorInfo reason)
    {
        foreach (var channel in _channels.Values)
        {
            channel.OnConnectionSuspendedLocked(reason);
        }
    }

    internal void OnConnectionClosedLocked()
    {
        foreach (var channel in _channels.Values)
        {
            channel.OnConnectionClosedLocked();
        }
    }

    internal void OnConnectionFailedLocked(ErrorInfo reason)
    {
        foreach (var channel in _channels.Values)
        {
            channel.OnConnectionFailedLocked(reason);
        }
    }

    internal void CompleteAllSubscriptions()
    {
        foreach (var channel in this)
        {
            channel.CompleteSubscriptions();
        }
    }
}
