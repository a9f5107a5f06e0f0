using System.Buffers;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.DependencyInjection;
using TokenWire.Server.Hosting;
using TokenWire.Testing;

namespace TokenWire.Server.Tests.Hosting;

public sealed class TrimmableMemoryPoolFactoryTests
{
    [Fact]
    public void A_returned_block_is_rented_again_and_a_trimmed_one_is_not()
    {
        var pools = new TrimmableMemoryPoolFactory();
        using var pool = pools.Create();
        var first = pool.Rent();
        Assert.Equal(4096, first.Memory.Length);
        first.Dispose();

        var second = pool.Rent();
        Assert.Same(first, second);
        second.Dispose();

        Assert.Equal(4096, pools.Trim());
        Assert.NotSame(first, pool.Rent());
    }

    [Fact]
    public void Blocks_are_one_page_and_larger_requests_are_refused_as_kestrels_pool_refuses_them()
    {
        using var pool = new TrimmableMemoryPoolFactory().Create();
        Assert.Equal(4096, pool.MaxBufferSize);
        Assert.Equal(4096, pool.Rent(1).Memory.Length);
        Assert.Throws<ArgumentOutOfRangeException>(() => pool.Rent(4097));
    }

    [Fact]
    public void A_disposed_pool_keeps_nothing_and_rents_nothing()
    {
        var pools = new TrimmableMemoryPoolFactory();
        var pool = pools.Create();
        var block = pool.Rent();
        pool.Dispose();
        block.Dispose();

        Assert.Equal(0, pools.PooledBytes);
        Assert.Throws<ObjectDisposedException>(() => pool.Rent());
    }

    [Fact]
    public async Task Kestrel_takes_its_socket_buffers_from_the_trimmable_pools()
    {
        await using var server = await InProcessServer.StartAsync();
        var pools = server.Services.GetServices<IMemoryPoolFactory<byte>>().Last();
        Assert.IsType<TrimmableMemoryPoolFactory>(pools);

        // A request went through Kestrel: its read and write blocks came from these pools and go back to them (once
        // the connection's processing has finished with them, which may be after the client has its response).
        using var http = new HttpClient { BaseAddress = server.BaseUri };
        Assert.True((await http.GetAsync("/time")).IsSuccessStatusCode);
        await Wait.Eventually("Kestrel's blocks returned to the trimmable pools", () => ((TrimmableMemoryPoolFactory)pools).PooledBytes > 0);
    }
}
