using Microsoft.Extensions.Options;
using TokenWire.Server.Auth;
using TokenWire.Server.Configuration;
using TokenWire.Server.Connections;
using TokenWire.Server.Hosting;

namespace TokenWire.Conformance;

/// <summary>
/// The <see cref="IConnectionStore"/> contract, run against every engine: each engine's test class inherits this and
/// starts nodes sharing one engine (the embedded engine has one node, so every "node" is the same store). Expiry is
/// the engine's own clock: <see cref="LetStateExpireAsync"/> makes the state TTL pass, however that engine keeps time.
/// </summary>
public abstract class ConnectionStoreConformance : IAsyncLifetime
{
    private IOptions<TokenWireOptions>? _options;
    private AppRegistry? _apps;

    /// <summary>The state TTL the stores are started with; an engine that expires in real time may shorten it.</summary>
    protected virtual TimeSpan StateTtl => TimeSpan.FromMinutes(2);

    protected IOptions<TokenWireOptions> Options => _options ??= Microsoft.Extensions.Options.Options.Create(new TokenWireOptions
    {
        Apps = [DevelopmentApp.Create()],
        Connection = new ConnectionOptions { StateTtl = StateTtl },
    });

    protected AppRegistry Apps => _apps ??= new AppRegistry(Options);

    /// <summary>Starts a node of the engine under test, sharing connection state with every node this test started.</summary>
    protected abstract Task<IConnectionStore> StartNodeAsync();

    /// <summary>Makes the state TTL pass for <paramref name="connection"/>, marked disconnected on <paramref name="store"/>.</summary>
    protected abstract Task LetStateExpireAsync(IConnectionStore store, RealtimeConnection connection);

    public virtual Task InitializeAsync() => Task.CompletedTask;

    public virtual Task DisposeAsync() => Task.CompletedTask;

    [Fact]
    public async Task A_connection_added_on_one_node_is_found_on_every_node_with_its_id_key_app_and_client_id()
    {
        var a = await StartNodeAsync();
        var b = await StartNodeAsync();
        var connection = NewConnection("user-1");

        await a.AddAsync(connection).Within();

        Assert.Same(connection, await a.FindAsync(connection.Key).Within());
        var found = await b.FindAsync(connection.Key).Within();
        Assert.NotNull(found);
        Assert.Equal((connection.Id, connection.Key, DevelopmentApp.AppId, "user-1"), (found.Id, found.Key, found.Auth.App.Id, found.Auth.ClientId));
        Assert.Same(Apps.FindApp(DevelopmentApp.AppId), found.Auth.App);
    }

    [Fact]
    public async Task An_unknown_key_is_neither_found_nor_expired()
    {
        var store = await StartNodeAsync();

        Assert.Null(await store.FindAsync("AAAAAAAAAAAA!AAAAAAAAAAAAAAAAAAAA").Within());
        Assert.False(await store.IsExpiredAsync("AAAAAAAAAAAA!AAAAAAAAAAAAAAAAAAAA").Within());
    }

    [Fact]
    public async Task A_removed_connection_is_forgotten_without_a_tombstone()
    {
        var a = await StartNodeAsync();
        var b = await StartNodeAsync();
        var connection = NewConnection(null);
        await a.AddAsync(connection).Within();

        await a.RemoveAsync(connection).Within();

        Assert.Null(await b.FindAsync(connection.Key).Within());
        Assert.False(await b.IsExpiredAsync(connection.Key).Within());
    }

    [Fact]
    public async Task Disconnected_state_stays_resumable_until_the_ttl_passes_then_is_reported_expired()
    {
        var a = await StartNodeAsync();
        var b = await StartNodeAsync();
        var connection = NewConnection(null);
        await a.AddAsync(connection).Within();

        await a.MarkDisconnectedAsync(connection, DateTimeOffset.UtcNow).Within();

        Assert.NotNull(await b.FindAsync(connection.Key).Within());
        Assert.False(await b.IsExpiredAsync(connection.Key).Within());
        await LetStateExpireAsync(a, connection);
        Assert.Null(await b.FindAsync(connection.Key).Within());
        Assert.True(await b.IsExpiredAsync(connection.Key).Within());
    }

    [Fact]
    public async Task A_connection_added_again_after_a_disconnect_is_live_and_does_not_expire()
    {
        var store = await StartNodeAsync();
        var connection = NewConnection(null);
        var other = NewConnection(null);
        await store.AddAsync(connection).Within();
        await store.AddAsync(other).Within();
        await store.MarkDisconnectedAsync(connection, DateTimeOffset.UtcNow).Within();
        await store.MarkDisconnectedAsync(other, DateTimeOffset.UtcNow).Within();

        await store.AddAsync(connection).Within(); // resumed
        await LetStateExpireAsync(store, other);

        Assert.Same(connection, await store.FindAsync(connection.Key).Within());
        Assert.False(await store.IsExpiredAsync(connection.Key).Within());
    }

    protected RealtimeConnection NewConnection(string? clientId)
    {
        var id = ConnectionIds.NewConnectionId();
        var key = Apps.FindKey(DevelopmentApp.AppId + ".root")!;
        return new RealtimeConnection(id, ConnectionIds.NewConnectionKey(id), new AuthContext(Apps.FindApp(DevelopmentApp.AppId)!, key, key.Capability, clientId));
    }
}
