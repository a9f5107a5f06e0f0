using TokenWire.Protocol;
using TokenWire.Server.Push;

namespace TokenWire.Conformance;

/// <summary>
/// The <see cref="IPushRegistry"/> contract, run against every engine: each engine's test class starts nodes sharing
/// one registry (the embedded engine has one node). What one node saves another reads; lists are ordered and paged
/// by the last key; removing a device removes its subscriptions; the clientId index follows a registration's changes.
/// </summary>
public abstract class PushRegistryConformance : IAsyncLifetime
{
    /// <summary>Starts a node of the engine under test, sharing the registry with every node this test started.</summary>
    protected abstract Task<IPushRegistry> StartNodeAsync();

    public virtual Task InitializeAsync() => Task.CompletedTask;

    public virtual Task DisposeAsync() => Task.CompletedTask;

    [Fact]
    public async Task A_device_saved_on_one_node_is_read_whole_on_another_and_replaced_by_id()
    {
        var app = AppId();
        var a = await StartNodeAsync();
        var b = await StartNodeAsync();
        var device = Device("d1", "alice") with
        {
            DeviceSecret = "s3cret",
            Metadata = """{"model":"x"}""",
            IdentityToken = "tok",
            IdentityTokenIssued = 42,
            State = "FAILING",
            Error = new ErrorInfo(ErrorCodes.PushTransportNotConfigured, 500, "not configured"),
        };
        await a.SaveDeviceAsync(app, device).AsTask().Within();

        Assert.Equal(device, await b.GetDeviceAsync(app, "d1").AsTask().Within());
        Assert.Null(await b.GetDeviceAsync(AppId(), "d1").AsTask().Within());

        await b.SaveDeviceAsync(app, device with { ClientId = "bob", State = "ACTIVE", Error = null }).AsTask().Within();
        var read = await a.GetDeviceAsync(app, "d1").AsTask().Within();
        Assert.Equal(("bob", "ACTIVE", (ErrorInfo?)null), (read!.ClientId, read.State, read.Error));
        Assert.Empty(await a.ListDevicesAsync(app, new DeviceFilter(ClientId: "alice"), null, 10).AsTask().Within());
        Assert.Equal(["d1"], (await a.ListDevicesAsync(app, new DeviceFilter(ClientId: "bob"), null, 10).AsTask().Within()).Select(d => d.Id));
    }

    [Fact]
    public async Task Devices_list_in_id_order_filtered_and_paged_by_the_last_id()
    {
        var app = AppId();
        var registry = await StartNodeAsync();
        foreach (var (id, client) in new[] { ("d3", "alice"), ("d1", "alice"), ("d2", "bob"), ("d5", "alice"), ("d4", null) })
        {
            await registry.SaveDeviceAsync(app, Device(id, client)).AsTask().Within();
        }

        Assert.Equal(["d1", "d2"], (await registry.ListDevicesAsync(app, new DeviceFilter(), null, 2).AsTask().Within()).Select(d => d.Id));
        Assert.Equal(["d3", "d4"], (await registry.ListDevicesAsync(app, new DeviceFilter(), "d2", 2).AsTask().Within()).Select(d => d.Id));
        Assert.Equal(["d5"], (await registry.ListDevicesAsync(app, new DeviceFilter(), "d4", 2).AsTask().Within()).Select(d => d.Id));
        Assert.Equal(["d1", "d3"], (await registry.ListDevicesAsync(app, new DeviceFilter(ClientId: "alice"), null, 2).AsTask().Within()).Select(d => d.Id));
        Assert.Equal(["d5"], (await registry.ListDevicesAsync(app, new DeviceFilter(ClientId: "alice"), "d3", 2).AsTask().Within()).Select(d => d.Id));
        Assert.Equal(["d2"], (await registry.ListDevicesAsync(app, new DeviceFilter(DeviceId: "d2"), null, 10).AsTask().Within()).Select(d => d.Id));
        Assert.Empty(await registry.ListDevicesAsync(app, new DeviceFilter(DeviceId: "d2", ClientId: "alice"), null, 10).AsTask().Within());
    }

    [Fact]
    public async Task Removing_devices_takes_their_device_subscriptions_and_leaves_clientId_ones()
    {
        var app = AppId();
        var registry = await StartNodeAsync();
        await registry.SaveDeviceAsync(app, Device("d1", "alice")).AsTask().Within();
        await registry.SaveDeviceAsync(app, Device("d2", "alice")).AsTask().Within();
        await registry.SaveDeviceAsync(app, Device("d3", "bob")).AsTask().Within();
        await registry.SaveSubscriptionAsync(app, new PushChannelSubscription("news", "d1", null)).AsTask().Within();
        await registry.SaveSubscriptionAsync(app, new PushChannelSubscription("sport", "d1", null)).AsTask().Within();
        await registry.SaveSubscriptionAsync(app, new PushChannelSubscription("news", null, "alice")).AsTask().Within();

        Assert.Equal(2, await registry.RemoveDevicesAsync(app, new DeviceFilter(ClientId: "alice")).AsTask().Within());

        Assert.Equal(["d3"], (await registry.ListDevicesAsync(app, new DeviceFilter(), null, 10).AsTask().Within()).Select(d => d.Id));
        Assert.Empty(await registry.ListDevicesAsync(app, new DeviceFilter(ClientId: "alice"), null, 10).AsTask().Within());
        Assert.Equal([new PushChannelSubscription("news", null, "alice")], await registry.ListSubscriptionsAsync(app, new SubscriptionFilter(), null, 10).AsTask().Within());
        Assert.Equal(["news"], await registry.ListChannelsAsync(app, null, 10).AsTask().Within());
        Assert.Equal(0, await registry.RemoveDevicesAsync(app, new DeviceFilter(DeviceId: "d1")).AsTask().Within());
    }

    [Fact]
    public async Task Subscriptions_list_by_channel_then_subscriber_with_filters_and_paging()
    {
        var app = AppId();
        var a = await StartNodeAsync();
        var b = await StartNodeAsync();
        PushChannelSubscription[] all =
        [
            new("a:one", "d1", null), new("a:one", null, "alice"), new("a:one", "d2", null),
            new("a:two", "d1", null), new("b", null, "bob"), new("a:one\u00e9", null, "carol"),
        ];
        foreach (var subscription in all)
        {
            await a.SaveSubscriptionAsync(app, subscription).AsTask().Within();
        }

        await a.SaveSubscriptionAsync(app, all[0]).AsTask().Within(); // saving twice is one subscription

        var channel = await b.ListSubscriptionsAsync(app, new SubscriptionFilter(Channel: "a:one"), null, 10).AsTask().Within();
        Assert.Equal([new("a:one", null, "alice"), new("a:one", "d1", null), new("a:one", "d2", null)], channel);
        var first = await b.ListSubscriptionsAsync(app, new SubscriptionFilter(Channel: "a:one"), null, 2).AsTask().Within();
        var second = await b.ListSubscriptionsAsync(app, new SubscriptionFilter(Channel: "a:one"), first[^1].Key, 2).AsTask().Within();
        Assert.Equal(channel, first.Concat(second));
        Assert.Equal([new("a:one", "d1", null), new("a:two", "d1", null)], await b.ListSubscriptionsAsync(app, new SubscriptionFilter(DeviceId: "d1"), null, 10).AsTask().Within());
        Assert.Equal(
            [new("a:one", null, "alice"), new("a:one", "d1", null)],
            await b.ListSubscriptionsAsync(app, new SubscriptionFilter("a:one", "d1", "alice", Either: true), null, 10).AsTask().Within());
        Assert.Empty(await b.ListSubscriptionsAsync(app, new SubscriptionFilter("a:one", "d1", "alice"), null, 10).AsTask().Within());
        Assert.Equal(["a:one", "a:one\u00e9", "a:two", "b"], await b.ListChannelsAsync(app, null, 10).AsTask().Within());
        Assert.Equal(["a:one\u00e9", "a:two"], await b.ListChannelsAsync(app, "a:one", 2).AsTask().Within());

        Assert.Equal(2, await b.RemoveSubscriptionsAsync(app, new SubscriptionFilter(DeviceId: "d1")).AsTask().Within());
        Assert.Equal(1, await b.RemoveSubscriptionsAsync(app, new SubscriptionFilter(Channel: "b", ClientId: "bob")).AsTask().Within());
        Assert.Equal(["a:one", "a:one\u00e9"], await a.ListChannelsAsync(app, null, 10).AsTask().Within());
        Assert.Equal(3, (await a.ListSubscriptionsAsync(app, new SubscriptionFilter(), null, 10).AsTask().Within()).Count);
    }

    protected static DeviceRegistration Device(string id, string? clientId) => new()
    {
        Id = id,
        ClientId = clientId,
        Platform = "browser",
        FormFactor = "desktop",
        Recipient = """{"transportType":"web","targetUrl":"aHR0cHM6Ly9wdXNoLmV4YW1wbGUvYQ==","encryptionKey":{"p256dh":"k","auth":"a"}}""",
    };

    private static string AppId() => "app" + Guid.NewGuid().ToString("N")[..10];
}
