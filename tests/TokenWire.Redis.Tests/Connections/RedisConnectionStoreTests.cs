using Microsoft.Extensions.Options;
using StackExchange.Redis;
using TokenWire.Conformance;
using TokenWire.Redis.Tests.Support;
using TokenWire.Server.Auth;
using TokenWire.Server.Configuration;
using TokenWire.Server.Connections;
using TokenWire.Server.Hosting;

namespace TokenWire.Redis.Tests.Connections;

/// <summary>Connection state shared by two nodes: resume anywhere, expiry after the state TTL, one owner at a time.</summary>
[Collection(RedisCollection.Name)]
public sealed class RedisConnectionStoreTests(RedisServerFixture redis) : IAsyncLifetime
{
    /// <summary>Short, because Redis expires keys in real time; long enough to check the state before it goes.</summary>
    private static readonly TimeSpan StateTtl = TimeSpan.FromMilliseconds(1500);

    private readonly RedisKeys _keys = new(RedisServerFixture.UniquePrefix());
    private readonly List<IDisposable> _disposables = [];
    private readonly IOptions<TokenWireOptions> _options = Options.Create(new TokenWireOptions
    {
        Apps = [DevelopmentApp.Create()],
        Connection = new ConnectionOptions { StateTtl = StateTtl },
    });

    private AppRegistry _apps = null!;
    private RedisConnectionStore _nodeA = null!;
    private RedisConnectionStore _nodeB = null!;

    public async Task InitializeAsync()
    {
        _apps = new AppRegistry(_options);
        _nodeA = await StartNode();
        _nodeB = await StartNode();
    }

    public Task DisposeAsync()
    {
        foreach (var disposable in _disposables)
        {
            disposable.Dispose();
        }

        return Task.CompletedTask;
    }

    [Fact]
    public async Task A_connection_made_on_one_node_is_found_on_another_with_its_id_app_and_client_id()
    {
        var connection = NewConnection("user-1");
        await _nodeA.AddAsync(connection).Within();

        var found = await _nodeB.FindAsync(connection.Key).Within();

        Assert.NotNull(found);
        Assert.NotSame(connection, found);
        Assert.Equal((connection.Id, connection.Key, "dev", "user-1"), (found.Id, found.Key, found.Auth.App.Id, found.Auth.ClientId));
        Assert.Same(_apps.FindApp("dev"), found.Auth.App);
        Assert.Same(connection, await _nodeA.FindAsync(connection.Key).Within());
    }

    [Fact]
    public async Task Disconnected_state_stays_resumable_for_the_ttl_then_is_reported_expired()
    {
        var connection = NewConnection(null);
        await _nodeA.AddAsync(connection).Within();

        await _nodeA.MarkDisconnectedAsync(connection, DateTimeOffset.UtcNow).Within();

        Assert.NotNull(await _nodeB.FindAsync(connection.Key).Within());
        Assert.False(await _nodeB.IsExpiredAsync(connection.Key).Within());
        await EventuallyAsync("the state expired", async () => await _nodeB.FindAsync(connection.Key) is null);
        Assert.True(await _nodeB.IsExpiredAsync(connection.Key).Within());
    }

    [Fact]
    public async Task Taking_a_connection_over_on_another_node_keeps_it_live_there_and_the_old_node_lets_go()
    {
        var connection = NewConnection(null);
        await _nodeA.AddAsync(connection).Within();
        var resumed = (await _nodeB.FindAsync(connection.Key).Within())!;

        await _nodeB.AddAsync(resumed).Within();
        await Wait.Eventually("node A forgets its object", () => _nodeA.LocalCount == 0);

        // Node A notices its (dead) transport late: that must not start the TTL of a connection live on node B.
        await _nodeA.MarkDisconnectedAsync(connection, DateTimeOffset.UtcNow).Within();
        Assert.Null(await redis.Redis.GetDatabase().KeyTimeToLiveAsync(_keys.Connection(connection.Key)).Within());
        Assert.Same(resumed, await _nodeB.FindAsync(connection.Key).Within());
    }

    [Fact]
    public async Task A_resume_after_the_state_is_forgotten_by_close_finds_nothing_and_no_tombstone()
    {
        var connection = NewConnection(null);
        await _nodeA.AddAsync(connection).Within();

        await _nodeA.RemoveAsync(connection).Within();

        Assert.Null(await _nodeB.FindAsync(connection.Key).Within());
        Assert.False(await _nodeB.IsExpiredAsync(connection.Key).Within());
    }

    [Fact]
    public async Task An_unknown_key_is_neither_found_nor_expired()
    {
        Assert.Null(await _nodeA.FindAsync("AAAAAAAAAAAA!AAAAAAAAAAAAAAAAAAAA").Within());
        Assert.False(await _nodeA.IsExpiredAsync("AAAAAAAAAAAA!AAAAAAAAAAAAAAAAAAAA").Within());
    }

    private RealtimeConnection NewConnection(string? clientId)
    {
        var id = ConnectionIds.NewConnectionId();
        var key = _apps.FindKey(DevelopmentApp.AppId + ".root")!;
        return new RealtimeConnection(id, ConnectionIds.NewConnectionKey(id), new AuthContext(_apps.FindApp(DevelopmentApp.AppId)!, key, key.Capability, clientId));
    }

    private async Task<RedisConnectionStore> StartNode()
    {
        ConnectionMultiplexer link = await redis.ConnectAsync();
        var store = new RedisConnectionStore(link, _keys, _apps, _options, TimeProvider.System);
        _disposables.Add(store);
        _disposables.Add(link);
        return store;
    }

    private static async Task EventuallyAsync(string reason, Func<Task<bool>> condition)
    {
        var deadline = DateTime.UtcNow + Wait.Timeout;
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"Timed out waiting for: {reason}");
            await Task.Delay(50);
        }
    }
}
