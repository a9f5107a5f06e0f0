using StackExchange.Redis;

namespace TokenWire.Redis.Tests.Support;

/// <summary>
/// One real <c>redis-server</c> (<see cref="RedisServer"/>, the shared test kit's) for the collection, stopped after
/// it. Tests isolate themselves with <see cref="UniquePrefix"/> rather than flushing. ./test.sh installs
/// redis-server; without it every test fails saying so.
/// </summary>
public sealed class RedisServerFixture : IAsyncLifetime
{
    private RedisServer? _server;
    private ConnectionMultiplexer? _shared;

    public string Configuration => (_server ?? throw new InvalidOperationException("redis-server is not running")).Endpoint;

    /// <summary>One multiplexer for tests that need a single node.</summary>
    public IConnectionMultiplexer Redis => _shared ?? throw new InvalidOperationException("redis-server is not running");

    /// <summary>A separate multiplexer: another node's own link to the same Redis. The caller disposes it.</summary>
    public async Task<ConnectionMultiplexer> ConnectAsync() => await ConnectionMultiplexer.ConnectAsync(RedisConnection.Configure(Configuration, "tokenwire-tests"));

    public static string UniquePrefix() => $"test-{Guid.NewGuid():N}:";

    public async Task InitializeAsync()
    {
        _server = await RedisServer.StartAsync();
        _shared = await ConnectionMultiplexer.ConnectAsync($"{Configuration},abortConnect=true,connectTimeout=5000");
    }

    public async Task DisposeAsync()
    {
        if (_shared is not null)
        {
            await _shared.DisposeAsync();
        }

        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }
}

[CollectionDefinition(Name)]
public sealed class RedisCollection : ICollectionFixture<RedisServerFixture>
{
    public const string Name = "redis-server";
}
