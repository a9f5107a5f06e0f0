using StackExchange.Redis;
using TokenWire.Server.Push;

namespace TokenWire.Redis;

/// <summary>
/// Push device registrations and channel subscriptions in Redis, so every node of a cluster reads the same (layout in
/// <see cref="RedisKeys"/>). Devices are a hash of registrations with a lexicographic index for paging and a set per
/// clientId; subscriptions are one lexicographic sorted set ordered by channel then subscriber, with a channel index
/// and each device's channels. Writes that touch several keys are single scripts, so the indexes never disagree.
/// </summary>
public sealed class RedisPushRegistry(IConnectionMultiplexer redis, RedisKeys keys) : IPushRegistry
{
    private const int ScanBatch = 500;

    public async ValueTask<DeviceRegistration?> GetDeviceAsync(string appId, string deviceId, CancellationToken cancellationToken = default)
    {
        var json = await Run(db => db.HashGetAsync(keys.Push(appId, "dev"), deviceId), cancellationToken).ConfigureAwait(false);
        return json.IsNull ? null : DeviceRegistration.FromStoredJson(json.ToString());
    }

    public async ValueTask SaveDeviceAsync(string appId, DeviceRegistration device, CancellationToken cancellationToken = default) =>
        await Run(db => db.ScriptEvaluateAsync(
            RedisScripts.PushSaveDevice,
            [keys.Push(appId, "dev"), keys.Push(appId, "devs")],
            [keys.Push(appId, "cli:"), device.Id, device.ToStoredJson(), device.ClientId ?? string.Empty]), cancellationToken).ConfigureAwait(false);

    public async ValueTask<IReadOnlyList<DeviceRegistration>> ListDevicesAsync(string appId, DeviceFilter filter, string? after, int limit, CancellationToken cancellationToken = default)
    {
        RedisValue[] ids;
        if (filter.DeviceId is { } id)
        {
            ids = after is null || string.CompareOrdinal(id, after) > 0 ? [id] : [];
        }
        else if (filter.ClientId is { } clientId)
        {
            var members = await Run(db => db.SetMembersAsync(keys.Push(appId, "cli:") + clientId), cancellationToken).ConfigureAwait(false);
            ids = [.. members.Select(m => m.ToString()).Where(m => after is null || string.CompareOrdinal(m, after) > 0).Order(StringComparer.Ordinal).Take(limit).Select(m => (RedisValue)m)];
        }
        else
        {
            ids = await Run(db => db.SortedSetRangeByValueAsync(keys.Push(appId, "devs"), after ?? default(RedisValue), default, after is null ? Exclude.None : Exclude.Start, Order.Ascending, 0, limit), cancellationToken).ConfigureAwait(false);
        }

        if (ids.Length == 0)
        {
            return [];
        }

        var values = await Run(db => db.HashGetAsync(keys.Push(appId, "dev"), ids), cancellationToken).ConfigureAwait(false);
        return [.. values.Where(v => !v.IsNull).Select(v => DeviceRegistration.FromStoredJson(v.ToString())).Where(filter.Matches)];
    }

    public async ValueTask<int> RemoveDevicesAsync(string appId, DeviceFilter filter, CancellationToken cancellationToken = default)
    {
        var removed = 0;
        string? after = null;
        while (true)
        {
            var page = await ListDevicesAsync(appId, filter, after, ScanBatch, cancellationToken).ConfigureAwait(false);
            foreach (var device in page)
            {
                var result = await Run(db => db.ScriptEvaluateAsync(
                    RedisScripts.PushRemoveDevice,
                    [keys.Push(appId, "dev"), keys.Push(appId, "devs"), keys.Push(appId, "subs"), keys.Push(appId, "chans"), keys.Push(appId, "chcount")],
                    [keys.Push(appId, "cli:"), keys.Push(appId, "dsub:"), device.Id]), cancellationToken).ConfigureAwait(false);
                removed += (int)result;
            }

            if (page.Count < ScanBatch)
            {
                return removed;
            }

            after = page[^1].Id;
        }
    }

    public async ValueTask SaveSubscriptionAsync(string appId, PushChannelSubscription subscription, CancellationToken cancellationToken = default) =>
        await ChangeSubscriptionsAsync(appId, add: true, [subscription.Key], cancellationToken).ConfigureAwait(false);

    public async ValueTask<IReadOnlyList<PushChannelSubscription>> ListSubscriptionsAsync(string appId, SubscriptionFilter filter, string? after, int limit, CancellationToken cancellationToken = default)
    {
        var found = new List<PushChannelSubscription>(Math.Min(limit, ScanBatch));
        // One channel's subscriptions are one range of the set: "channel\n" up to (not including) "channel\x0b".
        var upper = filter.Channel is { } channel ? (RedisValue)(channel + "\v") : default;
        RedisValue lower = after ?? (filter.Channel is { } c ? c + "\n" : default);
        var exclude = (after is null ? Exclude.None : Exclude.Start) | (upper.IsNull ? Exclude.None : Exclude.Stop);
        if (after is not null && filter.Channel is { } ch && string.CompareOrdinal(after, ch + "\n") < 0)
        {
            (lower, exclude) = (ch + "\n", Exclude.Stop);
        }

        while (found.Count < limit)
        {
            var batch = await Run(db => db.SortedSetRangeByValueAsync(keys.Push(appId, "subs"), lower, upper, exclude, Order.Ascending, 0, ScanBatch), cancellationToken).ConfigureAwait(false);
            foreach (var member in batch)
            {
                var subscription = PushChannelSubscription.FromKey(member.ToString());
                if (filter.Matches(subscription) && found.Count < limit)
                {
                    found.Add(subscription);
                }
            }

            if (batch.Length < ScanBatch)
            {
                break;
            }

            lower = batch[^1];
            exclude |= Exclude.Start;
        }

        return found;
    }

    public async ValueTask<int> RemoveSubscriptionsAsync(string appId, SubscriptionFilter filter, CancellationToken cancellationToken = default)
    {
        var removed = 0;
        while (true)
        {
            // Each pass removes what it found, so the next pass starts from the beginning again.
            var page = await ListSubscriptionsAsync(appId, filter, null, ScanBatch, cancellationToken).ConfigureAwait(false);
            if (page.Count == 0)
            {
                return removed;
            }

            removed += await ChangeSubscriptionsAsync(appId, add: false, [.. page.Select(s => s.Key)], cancellationToken).ConfigureAwait(false);
            if (page.Count < ScanBatch)
            {
                return removed;
            }
        }
    }

    public async ValueTask<IReadOnlyList<string>> ListChannelsAsync(string appId, string? after, int limit, CancellationToken cancellationToken = default)
    {
        var channels = await Run(db => db.SortedSetRangeByValueAsync(keys.Push(appId, "chans"), after ?? default(RedisValue), default, after is null ? Exclude.None : Exclude.Start, Order.Ascending, 0, limit), cancellationToken).ConfigureAwait(false);
        return [.. channels.Select(c => c.ToString())];
    }

    private async Task<int> ChangeSubscriptionsAsync(string appId, bool add, IReadOnlyList<string> subscriptionKeys, CancellationToken cancellationToken)
    {
        var args = new RedisValue[2 + subscriptionKeys.Count];
        args[0] = keys.Push(appId, "dsub:");
        args[1] = add ? "1" : "0";
        for (var i = 0; i < subscriptionKeys.Count; i++)
        {
            args[2 + i] = subscriptionKeys[i];
        }

        var result = await Run(db => db.ScriptEvaluateAsync(
            RedisScripts.PushSubscriptions,
            [keys.Push(appId, "subs"), keys.Push(appId, "chans"), keys.Push(appId, "chcount")],
            args), cancellationToken).ConfigureAwait(false);
        return (int)result;
    }

    private async Task<T> Run<T>(Func<IDatabase, Task<T>> operation, CancellationToken cancellationToken)
    {
        try
        {
            return await operation(redis.GetDatabase()).WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (RedisFailures.IsUnavailable(ex))
        {
            throw RedisFailures.Unavailable("push registry", ex);
        }
    }
}
