using TokenWire.Protocol;
using TokenWire.Server.Engine;
using TokenWire.Server.Log;

namespace TokenWire.Server.Publishing;

/// <summary>
/// Writes the publish paths' appends to the engine's log: exactly once and in each realtime publisher's order per
/// channel, through an engine outage shorter than <c>TokenWire:EngineOutageWait</c>. An append that fails because the
/// store is unavailable is retried (<see cref="EngineOutage"/>); the retry is safe because the log deduplicates by
/// message id, and cannot overtake the publisher's earlier publish because it names it (<see cref="AppendOrder"/>) and
/// the log refuses it until that one is stored. Past the wait it throws <see cref="EngineUnavailableException"/>.
/// The first attempt is the whole cost when the engine is up.
/// </summary>
public sealed class LogWriter(IMessageLog log, EngineOutage outage, TimeProvider time)
{
    public async ValueTask<AppendResult> AppendAsync(ChannelKey channel, IReadOnlyList<Message> messages, ChannelRetention retention, AppendOrder? order, CancellationToken cancellationToken)
    {
        var predecessor = PredecessorOf(order, retention);
        var started = time.GetTimestamp();
        try
        {
            var result = await log.AppendAsync(channel, messages, retention, predecessor?.Id, cancellationToken).ConfigureAwait(false);
            outage.Succeeded();
            return result;
        }
        catch (Exception ex) when (ex is EngineUnavailableException or AppendOutOfOrderException)
        {
            return await RetryAppendAsync(ex, started, channel, messages, retention, order, cancellationToken).ConfigureAwait(false);
        }
    }

    public async ValueTask<AppendResult> AppendMutationAsync(ChannelKey channel, MessageMutation mutation, ChannelRetention retention, AppendOrder? order, CancellationToken cancellationToken)
    {
        var predecessor = PredecessorOf(order, retention);
        var started = time.GetTimestamp();
        try
        {
            var result = await log.AppendMutationAsync(channel, mutation, retention, predecessor?.Id, cancellationToken).ConfigureAwait(false);
            outage.Succeeded();
            return result;
        }
        catch (Exception ex) when (ex is EngineUnavailableException or AppendOutOfOrderException)
        {
            return await RetryMutationAsync(ex, started, channel, mutation, retention, order, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Ephemeral messages: nothing is stored, so a retry may deliver one twice (there is no id to check).</summary>
    public ValueTask PublishEphemeralAsync(ChannelKey channel, IReadOnlyList<Message> messages, CancellationToken cancellationToken) =>
        outage.WaitOutAsync(() => log.PublishEphemeralAsync(channel, messages, cancellationToken), cancellationToken);

    /// <summary>
    /// The order guard needs the log to remember ids (the idempotency window); with the window off, retries are
    /// still exactly-once-or-refused per message but may reorder.
    /// </summary>
    private static AppendOrder? PredecessorOf(AppendOrder? order, ChannelRetention retention) =>
        retention.IdempotencyWindow > TimeSpan.Zero ? order?.Predecessor : null;

    // The retries' lambdas live in methods of their own: in the callers, their closures would be allocated on every
    // append (a closure over parameters is created on entry), not only on a retry.
    private ValueTask<AppendResult> RetryAppendAsync(Exception failure, long started, ChannelKey channel, IReadOnlyList<Message> messages, ChannelRetention retention, AppendOrder? order, CancellationToken cancellationToken) =>
        RetryAsync(failure, started, order, retention, after => log.AppendAsync(channel, messages, retention, after, cancellationToken), cancellationToken);

    private ValueTask<AppendResult> RetryMutationAsync(Exception failure, long started, ChannelKey channel, MessageMutation mutation, ChannelRetention retention, AppendOrder? order, CancellationToken cancellationToken) =>
        RetryAsync(failure, started, order, retention, after => log.AppendMutationAsync(channel, mutation, retention, after, cancellationToken), cancellationToken);

    /// <param name="started">When the first attempt was made: the outage wait counts from there (a first attempt may
    /// itself have waited for a reconnection inside the engine's client).</param>
    private async ValueTask<AppendResult> RetryAsync(Exception failure, long started, AppendOrder? order, ChannelRetention retention, Func<string?, ValueTask<AppendResult>> attempt, CancellationToken cancellationToken)
    {
        var attempts = 0;
        for (; ; )
        {
            var predecessor = PredecessorOf(order, retention);
            if (failure is EngineUnavailableException unavailable)
            {
                if (!await outage.BackOffAsync(unavailable, started, ++attempts, cancellationToken).ConfigureAwait(false))
                {
                    throw new EngineUnavailableException($"Publish not accepted: the message store has been unavailable for {outage.MaxWait.TotalSeconds:0.#} s ({unavailable.Message}); retry", unavailable);
                }
            }
            else if (predecessor is not null)
            {
                // The publisher's earlier publish is not stored yet (it is being retried): wait for its outcome.
                await predecessor.WhenSettledAsync(cancellationToken).ConfigureAwait(false);
                if (predecessor.Outcome == AppendOutcome.Unknown)
                {
                    throw new EngineUnavailableException("Publish not accepted: an earlier publish on this channel could not be confirmed while the message store was unavailable; retry");
                }

                predecessor = PredecessorOf(order, retention);
            }

            try
            {
                var result = await attempt(predecessor?.Id).ConfigureAwait(false);
                outage.Succeeded();
                return result;
            }
            catch (Exception ex) when (ex is EngineUnavailableException or AppendOutOfOrderException)
            {
                failure = ex;
            }
        }
    }
}
