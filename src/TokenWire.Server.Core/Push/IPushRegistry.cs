namespace TokenWire.Server.Push;

/// <summary>Which devices an operation applies to: all of the app's, or those matching every filter given.</summary>
public sealed record DeviceFilter(string? DeviceId = null, string? ClientId = null)
{
    public bool IsEmpty => DeviceId is null && ClientId is null;

    public bool Matches(DeviceRegistration device) =>
        (DeviceId is null || device.Id == DeviceId) && (ClientId is null || device.ClientId == ClientId);
}

/// <summary>
/// Which channel subscriptions an operation applies to. <see cref="Channel"/> always narrows; <see cref="DeviceId"/>
/// and <see cref="ClientId"/> both must match, or either when <see cref="Either"/> (Ably's <c>concatFilters</c>).
/// </summary>
public sealed record SubscriptionFilter(string? Channel = null, string? DeviceId = null, string? ClientId = null, bool Either = false)
{
    public bool IsEmpty => Channel is null && DeviceId is null && ClientId is null;

    public bool Matches(PushChannelSubscription subscription)
    {
        if (Channel is not null && subscription.Channel != Channel)
        {
            return false;
        }

        var device = DeviceId is null || subscription.DeviceId == DeviceId;
        var client = ClientId is null || subscription.ClientId == ClientId;
        return Either && DeviceId is not null && ClientId is not null ? device || client : device && client;
    }
}

/// <summary>
/// Where each app's push device registrations and channel subscriptions are kept: in memory for one node, in Redis
/// for a cluster (every node reads the same). Lists are ordered (devices by id, subscriptions by channel then
/// subscriber, channels by name) and paged by the last key of the previous page.
/// </summary>
public interface IPushRegistry
{
    ValueTask<DeviceRegistration?> GetDeviceAsync(string appId, string deviceId, CancellationToken cancellationToken = default);

    /// <summary>Adds or replaces the registration with its id.</summary>
    ValueTask SaveDeviceAsync(string appId, DeviceRegistration device, CancellationToken cancellationToken = default);

    /// <summary>Up to <paramref name="limit"/> matching devices whose id sorts after <paramref name="after"/>.</summary>
    ValueTask<IReadOnlyList<DeviceRegistration>> ListDevicesAsync(string appId, DeviceFilter filter, string? after, int limit, CancellationToken cancellationToken = default);

    /// <summary>Removes the matching devices and their device subscriptions; how many devices went.</summary>
    ValueTask<int> RemoveDevicesAsync(string appId, DeviceFilter filter, CancellationToken cancellationToken = default);

    ValueTask SaveSubscriptionAsync(string appId, PushChannelSubscription subscription, CancellationToken cancellationToken = default);

    /// <summary>Up to <paramref name="limit"/> matching subscriptions whose <see cref="PushChannelSubscription.Key"/> sorts after <paramref name="after"/>.</summary>
    ValueTask<IReadOnlyList<PushChannelSubscription>> ListSubscriptionsAsync(string appId, SubscriptionFilter filter, string? after, int limit, CancellationToken cancellationToken = default);

    ValueTask<int> RemoveSubscriptionsAsync(string appId, SubscriptionFilter filter, CancellationToken cancellationToken = default);

    /// <summary>Up to <paramref name="limit"/> channels with at least one subscription, sorting after <paramref name="after"/>.</summary>
    ValueTask<IReadOnlyList<string>> ListChannelsAsync(string appId, string? after, int limit, CancellationToken cancellationToken = default);
}
