using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using TokenWire.Server.Configuration;

namespace TokenWire.Server.Engine;

/// <summary>
/// How this node rides out an engine outage (<see cref="EngineUnavailableException"/>): an operation retries with a
/// short backoff for up to <see cref="TokenWireOptions.EngineOutageWait"/> from its first failure. The node logs one
/// warning when the store goes away and one when it is back, with how long it was away and how many operations waited
/// and gave up — not one line per operation.
/// </summary>
public sealed partial class EngineOutage(IOptions<TokenWireOptions> options, TimeProvider time, ILogger<EngineOutage> logger, EngineMetrics? metrics = null)
{
    private static readonly TimeSpan FirstBackoff = TimeSpan.FromMilliseconds(25);
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromMilliseconds(500);

    private readonly Lock _gate = new();
    private volatile bool _open;
    private long _startedAt;
    private int _waited;
    private int _gaveUp;

    public TimeSpan MaxWait => options.Value.EngineOutageWait;

    /// <summary>Whether an outage is open (cheap: the fast path reads it after every success).</summary>
    public bool IsOpen => _open;

    /// <summary>
    /// Called after an attempt failed with <paramref name="failure"/>: waits before the next attempt and returns true,
    /// or returns false once the operation, <paramref name="started"/> at that timestamp, has waited <see cref="MaxWait"/>.
    /// </summary>
    public async ValueTask<bool> BackOffAsync(EngineUnavailableException failure, long started, int attempt, CancellationToken cancellationToken)
    {
        if (attempt == 1)
        {
            Opened(failure, started);
        }

        var elapsed = time.GetElapsedTime(started);
        if (elapsed >= MaxWait)
        {
            lock (_gate)
            {
                _gaveUp++;
            }

            metrics?.GaveUp();
            return false;
        }

        var backoff = TimeSpan.FromTicks(Math.Min(FirstBackoff.Ticks << Math.Min(attempt - 1, 10), MaxBackoff.Ticks));
        await Task.Delay(backoff < MaxWait - elapsed ? backoff : MaxWait - elapsed, time, cancellationToken).ConfigureAwait(false);
        return true;
    }

    /// <summary>Runs <paramref name="attempt"/> until it succeeds or the outage has lasted <see cref="MaxWait"/>.</summary>
    public async ValueTask<T> WaitOutAsync<T>(Func<ValueTask<T>> attempt, CancellationToken cancellationToken)
    {
        var started = time.GetTimestamp();
        var attempts = 0;
        for (; ; )
        {
            try
            {
                var result = await attempt().ConfigureAwait(false);
                Succeeded();
                return result;
            }
            catch (EngineUnavailableException ex)
            {
                if (!await BackOffAsync(ex, started, ++attempts, cancellationToken).ConfigureAwait(false))
                {
                    throw;
                }
            }
        }
    }

    /// <inheritdoc cref="WaitOutAsync{T}"/>
    public async ValueTask WaitOutAsync(Func<ValueTask> attempt, CancellationToken cancellationToken) =>
        await WaitOutAsync(async () =>
        {
            await attempt().ConfigureAwait(false);
            return true;
        }, cancellationToken).ConfigureAwait(false);

    /// <summary>An operation succeeded: closes the outage if one is open.</summary>
    public void Succeeded()
    {
        if (!_open)
        {
            return;
        }

        TimeSpan length;
        int waited, gaveUp;
        lock (_gate)
        {
            if (!_open)
            {
                return;
            }

            _open = false;
            length = time.GetElapsedTime(_startedAt);
            (waited, gaveUp) = (_waited, _gaveUp);
        }

        metrics?.OutageClosed(length);
        Closed(logger, length.TotalSeconds, waited, gaveUp);
    }

    /// <param name="started">When the failed operation was first tried: the outage began no later.</param>
    private void Opened(EngineUnavailableException failure, long started)
    {
        lock (_gate)
        {
            _waited++;
            if (_open)
            {
                return;
            }

            _open = true;
            _startedAt = started;
            _waited = 1;
            _gaveUp = 0;
        }

        metrics?.OutageOpened();

        // The engine's message says what failed (connection lost, LOADING…); no stack trace: an outage is expected.
        Unavailable(logger, failure.Message, MaxWait.TotalSeconds);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Engine unavailable: {Reason}. Publishes, appends and presence changes wait up to {MaxWaitSeconds} s for it, then clients are disconnected to resume")]
    private static partial void Unavailable(ILogger logger, string reason, double maxWaitSeconds);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Engine back after {Seconds:0.0} s: {Waited} operations waited for it, {GaveUp} gave up (their clients resume and retransmit)")]
    private static partial void Closed(ILogger logger, double seconds, int waited, int gaveUp);
}
