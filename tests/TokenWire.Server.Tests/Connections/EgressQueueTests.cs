using TokenWire.Conformance;
using TokenWire.Server.Connections;

namespace TokenWire.Server.Tests.Connections;

public sealed class EgressQueueTests
{
    [Fact]
    public async Task Items_come_out_in_the_order_they_went_in()
    {
        var queue = new EgressQueue();
        for (var i = 0; i < 100; i++)
        {
            Assert.True(queue.TryWrite(i));
        }

        Assert.True(await queue.WaitToReadAsync());
        for (var i = 0; i < 100; i++)
        {
            Assert.True(queue.TryRead(out var item));
            Assert.Equal(i, item);
        }

        Assert.False(queue.TryRead(out _));
    }

    [Fact]
    public async Task A_waiting_reader_wakes_when_an_item_arrives()
    {
        var queue = new EgressQueue();
        var waiting = queue.WaitToReadAsync().AsTask();
        Assert.False(waiting.IsCompleted);

        queue.TryWrite("frame");

        Assert.True(await waiting.Within());
        Assert.True(queue.TryRead(out var item));
        Assert.Equal("frame", item);
    }

    [Fact]
    public async Task Completion_lets_the_reader_drain_then_ends_it_and_refuses_writes()
    {
        var queue = new EgressQueue();
        queue.TryWrite("last");
        queue.Complete();

        Assert.False(queue.TryWrite("late"));
        Assert.True(await queue.WaitToReadAsync());
        Assert.True(queue.TryRead(out _));
        Assert.False(queue.TryRead(out _));
        Assert.False(await queue.WaitToReadAsync());
    }

    [Fact]
    public async Task Completion_wakes_a_waiting_reader_with_the_end()
    {
        var queue = new EgressQueue();
        var waiting = queue.WaitToReadAsync().AsTask();

        queue.Complete();

        Assert.False(await waiting.Within());
    }

    [Fact]
    public async Task Concurrent_writers_lose_nothing_while_one_reader_waits_and_drains()
    {
        var queue = new EgressQueue();
        const int Writers = 4, PerWriter = 10_000;
        var writers = Enumerable.Range(0, Writers).Select(w => Task.Run(() =>
        {
            for (var i = 0; i < PerWriter; i++)
            {
                queue.TryWrite((w, i));
            }
        })).ToArray();
        var completion = Task.WhenAll(writers).ContinueWith(_ => queue.Complete(), TaskScheduler.Default);

        var next = new int[Writers];
        var read = 0;
        while (await queue.WaitToReadAsync().AsTask().Within())
        {
            while (queue.TryRead(out var item))
            {
                var (w, i) = ((int, int))item;
                Assert.Equal(next[w]++, i); // each writer's items stay in its order
                read++;
            }
        }

        await completion;
        Assert.Equal(Writers * PerWriter, read);
    }
}
