using StackExchange.Redis;

namespace TokenWire.Redis.Tests.Support;

/// <summary>
/// One test's part of the shared redis-server: its own key prefix (tests isolate themselves by prefix, never by
/// flushing), and a link per node — each node its own multiplexer, as separate processes would have — all closed,
/// with whatever the test registered to stop first, when the test ends.
/// </summary>
public sealed class RedisNodes(RedisServerFixture redis) : IAsyncDisposable
{
    private readonly List<IAsyncDisposable> _owned = [];

    public RedisKeys Keys { get; } = new(RedisServerFixture.UniquePrefix());

    /// <summary>A new node's own link to the shared server, closed with the test.</summary>
    public async Task<ConnectionMultiplexer> ConnectAsync() => Own(await redis.ConnectAsync());

    /// <summary>Stops <paramref name="resource"/> when the test ends, before the links registered ahead of it.</summary>
    public T Own<T>(T resource)
        where T : IAsyncDisposable
    {
        lock (_owned)
        {
            _owned.Add(resource);
        }

        return resource;
    }

    public async ValueTask DisposeAsync()
    {
        IAsyncDisposable[] owned;
        lock (_owned)
        {
            owned = [.. _owned];
            _owned.Clear();
        }

        for (var i = owned.Length - 1; i >= 0; i--)
        {
            await owned[i].DisposeAsync();
        }
    }
}
