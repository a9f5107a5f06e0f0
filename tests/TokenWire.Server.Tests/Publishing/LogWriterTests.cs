using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using TokenWire.Protocol;
using TokenWire.Protocol.Serials;
using TokenWire.Server.Configuration;
using TokenWire.Server.Engine;
using TokenWire.Server.Log;
using TokenWire.Server.Publishing;
using TokenWire.Server.Tests.Support;

namespace TokenWire.Server.Tests.Publishing;

/// <summary>
/// <see cref="LogWriter"/> through an engine outage: retried until the store is back, exactly once, never ahead of
/// the publisher's earlier publish, and given up past <c>EngineOutageWait</c>.
/// </summary>
public sealed class LogWriterTests
{
    private static readonly ChannelKey Channel = new("app", "chan");
    private static readonly ChannelRetention Retention = new(TimeSpan.FromHours(1), 10_000, TimeSpan.FromMinutes(2));

    private readonly InMemoryMessageLog _store = new(TimeProvider.System, TimeSpan.FromMinutes(5));

    [Fact]
    public async Task An_append_that_fails_while_the_engine_is_away_is_retried_until_it_is_back_and_stored_once()
    {
        // The first attempt reached the store before the link broke: the retry is answered from the idempotency window.
        var log = new FlakyLog(_store) { FailuresLeft = 3, ApplyBeforeFailing = true };
        var writer = Writer(log, TimeSpan.FromSeconds(30));

        var result = await writer.AppendAsync(Channel, [Token("conn:0:0", "a")], Retention, null, CancellationToken.None).AsTask().Within();

        Assert.Equal(4, log.Attempts);
        Assert.Equal(["a"], await Names());
        Assert.NotNull(result.Serials[0]);
    }

    [Fact]
    public async Task Past_the_outage_wait_it_gives_up_with_a_retriable_50003()
    {
        // On a clock of its own: the back-offs end only when the test moves it, so a busy box cannot use up the wait
        // before the first retry.
        var log = new FlakyLog(_store) { FailuresLeft = int.MaxValue };
        var time = new FakeTimeProvider();
        var writer = Writer(log, TimeSpan.FromMilliseconds(100), time);

        var appending = writer.AppendAsync(Channel, [Token("conn:0:0", "a")], Retention, null, CancellationToken.None).AsTask();
        await Wait.Eventually("the outage wait used up", () =>
        {
            time.Advance(TimeSpan.FromMilliseconds(5));
            return appending.IsCompleted;
        });
        var failure = await Assert.ThrowsAsync<EngineUnavailableException>(() => appending);

        Assert.Equal(ErrorCodes.ServiceUnavailable, failure.Error.Code);
        Assert.True(log.Attempts > 1);
        Assert.Empty(await Names());
    }

    [Fact]
    public async Task A_retried_append_never_overtakes_the_publishers_earlier_one()
    {
        // The store refuses "a" once (Redis still LOADING) and is ready again for "b", issued right behind it: without
        // the order guard "b" would be stored first.
        var log = new FlakyLog(_store) { FailuresLeft = 1, FailingName = "a" };
        var writer = Writer(log, TimeSpan.FromSeconds(30));
        var a = new AppendOrder("conn:0:0", null);
        var b = new AppendOrder("conn:1:0", a);

        var first = Publish(writer, a, "a");
        var second = Publish(writer, b, "b");
        await Task.WhenAll(first, second).Within();

        Assert.Equal(["a", "b"], await Names());
        Assert.Equal(AppendOutcome.Stored, b.Outcome);
    }

    [Fact]
    public async Task A_refused_predecessor_hands_its_successor_on_to_the_publish_before_it()
    {
        var writer = Writer(new FlakyLog(_store), TimeSpan.FromSeconds(30));
        var a = new AppendOrder("conn:0:0", null);
        var refused = new AppendOrder("conn:1:0", a);
        var c = new AppendOrder("conn:2:0", refused);

        await Publish(writer, a, "a").Within();
        var third = Publish(writer, c, "c");
        refused.Settle(AppendOutcome.NotStored);
        await third.Within();

        Assert.Equal(["a", "c"], await Names());
    }

    [Fact]
    public async Task A_publish_behind_one_whose_outcome_is_unknown_gives_up_too()
    {
        var writer = Writer(new FlakyLog(_store), TimeSpan.FromSeconds(30));
        var lost = new AppendOrder("conn:0:0", null);
        var next = new AppendOrder("conn:1:0", lost);

        var publishing = Publish(writer, next, "next");
        lost.Settle(AppendOutcome.Unknown);

        await Assert.ThrowsAsync<EngineUnavailableException>(() => publishing.Within());
        Assert.Empty(await Names());
    }

    private static LogWriter Writer(IMessageLog log, TimeSpan outageWait, TimeProvider? time = null)
    {
        time ??= TimeProvider.System;
        var options = Options.Create(new TokenWireOptions { EngineOutageWait = outageWait });
        return new LogWriter(log, new EngineOutage(options, time, NullLogger<EngineOutage>.Instance), time);
    }

    /// <summary>What the realtime session does around each publish: append, then settle its order.</summary>
    private static async Task Publish(LogWriter writer, AppendOrder order, string name)
    {
        var outcome = AppendOutcome.Unknown;
        try
        {
            await writer.AppendAsync(Channel, [Token(order.Id, name)], Retention, order, CancellationToken.None);
            outcome = AppendOutcome.Stored;
        }
        finally
        {
            order.Settle(outcome);
        }
    }

    private async Task<List<string?>> Names() =>
        (await _store.ReadAfterAsync(Channel, new LogPosition((await _store.GetHeadAsync(Channel)).Epoch, 0), 100)).Entries.Select(e => e.Message.Name).ToList();

    private static Message Token(string id, string name) => new() { Id = id, Name = name };

    /// <summary>A log whose first <see cref="FailuresLeft"/> appends (of <see cref="FailingName"/>, if set) fail as if the store were unreachable.</summary>
    private sealed class FlakyLog(IMessageLog inner) : DelegatingMessageLog(inner)
    {
        private int _attempts;
        private int _failuresLeft;

        public int FailuresLeft
        {
            get => Volatile.Read(ref _failuresLeft);
            init => _failuresLeft = value;
        }

        public string? FailingName { get; init; }

        /// <summary>The append took effect before the failure was reported (a reply lost with the link).</summary>
        public bool ApplyBeforeFailing { get; init; }

        public int Attempts => Volatile.Read(ref _attempts);

        public override async ValueTask<AppendResult> AppendAsync(ChannelKey channel, IReadOnlyList<Message> messages, ChannelRetention retention, string? after = null, CancellationToken cancellationToken = default)
        {
            Interlocked.Increment(ref _attempts);
            await Task.Yield();
            if ((FailingName is null || messages[0].Name == FailingName) && Interlocked.Decrement(ref _failuresLeft) >= 0)
            {
                if (ApplyBeforeFailing)
                {
                    await Inner.AppendAsync(channel, messages, retention, after, cancellationToken);
                }

                throw new EngineUnavailableException("LOADING Redis is loading the dataset in memory");
            }

            return await Inner.AppendAsync(channel, messages, retention, after, cancellationToken);
        }
    }
}
