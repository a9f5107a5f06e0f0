using System.Collections.Concurrent;

namespace TokenWire.Server.Push;

/// <summary>The embedded engine's push registry: per app, devices and subscriptions in sorted maps under one lock.</summary>
public sealed class InMemoryPushRegistry : IPushRegistry
{
    private readonly ConcurrentDictionary<string, AppPush> _apps = new(StringComparer.Ordinal);

    public ValueTask<DeviceRegistration?> GetDeviceAsync(string appId, string deviceId, CancellationToken cancellationToken = default)
    {
        var app = For(appId);
        lock (app)
        {
            return ValueTask.FromResult(app.Devices.GetValueOrDefault(deviceId));
        }
    }

    public ValueTask SaveDeviceAsync(string appId, DeviceRegistration device, CancellationToken cancellationToken = default)
    {
        var app = For(appId);
        lock (app)
        {
            app.Devices[device.Id] = device;
        }

        return ValueTask.CompletedTask;
    }

    public ValueTask<IReadOnlyList<DeviceRegistration>> ListDevicesAsync(string appId, DeviceFilter filter, string? after, int limit, CancellationToken cancellationToken = default)
    {
        var app = For(appId);
        lock (app)
        {
            IReadOnlyList<DeviceRegistration> page = [.. app.Devices.Values
                .Where(d => (after is null || string.CompareOrdinal(d.Id, after) > 0) && filter.Matches(d))
                .Take(limit)];
            return ValueTask.FromResult(page);
        }
    }

    public ValueTask<int> RemoveDevicesAsync(string appId, DeviceFilter filter, CancellationToken cancellationToken = default)
    {
        var app = For(appId);
        lock (app)
        {
            var removed = app.Devices.Values.Where(filter.Matches).Select(d => d.Id).ToList();
            foreach (var id in removed)
            {
                app.Devices.Remove(id);
            }

            // Ably removes a device's subscriptions with the device.
            var ids = removed.ToHashSet(StringComparer.Ordinal);
            foreach (var key in app.Subscriptions.Where(s => s.Value.DeviceId is { } d && ids.Contains(d)).Select(s => s.Key).ToList())
            {
                app.Subscriptions.Remove(key);
            }

            return ValueTask.FromResult(removed.Count);
        }
    }

    public ValueTask SaveSubscriptionAsync(string appId, PushChannelSubscription subscription, CancellationToken cancellationToken = default)
    {
        var app = For(appId);
        lock (app)
        {
            app.Subscriptions[subscription.Key] = subscription;
        }

        return ValueTask.CompletedTask;
    }

    public ValueTask<IReadOnlyList<PushChannelSubscription>> ListSubscriptionsAsync(string appId, SubscriptionFilter filter, string? after, int limit, CancellationToken cancellationToken = default)
    {
        var app = For(appId);
        lock (app)
        {
            IReadOnlyList<PushChannelSubscription> page = [.. app.Subscriptions
                .Where(s => (after is null || string.CompareOrdinal(s.Key, after) > 0) && filter.Matches(s.Value))
                .Select(s => s.Value)
                .Take(limit)];
            return ValueTask.FromResult(page);
        }
    }

    public ValueTask<int> RemoveSubscriptionsAsync(string appId, SubscriptionFilter filter, CancellationToken cancellationToken = default)
    {
        var app = For(appId);
        lock (app)
        {
            var keys = app.Subscriptions.Where(s => filter.Matches(s.Value)).Select(s => s.Key).ToList();
            foreach (var key in keys)
            {
                app.Subscriptions.Remove(key);
            }

            return ValueTask.FromResult(keys.Count);
        }
    }

    public ValueTask<IReadOnlyList<string>> ListChannelsAsync(string appId, string? after, int limit, CancellationToken cancellationToken = default)
    {
        var app = For(appId);
        lock (app)
        {
            IReadOnlyList<string> page = [.. app.Subscriptions.Values
                .Select(s => s.Channel)
                .Distinct(StringComparer.Ordinal)
                .Where(c => after is null || string.CompareOrdinal(c, after) > 0)
                .Take(limit)];
            return ValueTask.FromResult(page);
        }
    }

    private AppPush For(string appId) => _apps.GetOrAdd(appId, static _ => new AppPush());

    private sealed class AppPush
    {
        public SortedDictionary<string, DeviceRegistration> Devices { get; } = new(StringComparer.Ordinal);

        public SortedDictionary<string, PushChannelSubscription> Subscriptions { get; } = new(StringComparer.Ordinal);
    }
}
