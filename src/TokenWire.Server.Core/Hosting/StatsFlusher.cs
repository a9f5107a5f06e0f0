using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using TokenWire.Server.Auth;
using TokenWire.Server.Channels;
using TokenWire.Server.Configuration;
using TokenWire.Server.Connections;
using TokenWire.Server.Stats;

namespace TokenWire.Server.Hosting;

/// <summary>
/// Every <see cref="StatsOptions.FlushInterval"/>, writes this node's counts to the <see cref="IStatsStore"/> under the
/// current minute, with the peaks sampled then: live connections (this node's plus what the other nodes last reported,
/// so a cluster's peak is its sampled total) and this node's active channels. Channels opened are those active now
/// that were not at the previous sample. Sampled, so a connection or channel that comes and goes between two samples
/// is missed by the peak (and such a channel by <c>channels.opened</c>). A last flush runs on shutdown.
/// </summary>
internal sealed partial class StatsFlusher(
    StatsRecorder recorder,
    IStatsStore store,
    LiveConnections live,
    IClusterConnectionCounts cluster,
    LocalChannels channels,
    AppRegistry apps,
    TimeProvider time,
    IOptions<TokenWireOptions> options,
    ILogger<StatsFlusher> logger) : BackgroundService
{
    private HashSet<Engine.ChannelKey> _previousChannels = [];

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken).ConfigureAwait(false);
        await FlushAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>One flush (what the timer runs; tests call it to avoid waiting).</summary>
    public async Task FlushAsync(CancellationToken cancellationToken)
    {
        var minute = StatsIntervals.Floor(time.GetUtcNow().ToUnixTimeMilliseconds(), StatsUnit.Minute);
        var byApp = new Dictionary<string, Dictionary<string, long>>(StringComparer.Ordinal);
        Dictionary<string, long> For(string appId) =>
            byApp.TryGetValue(appId, out var leaves) ? leaves : byApp[appId] = new Dictionary<string, long>(StringComparer.Ordinal);

        foreach (var (appId, counts) in recorder.Take())
        {
            byApp[appId] = counts;
        }

        foreach (var app in apps.Apps)
        {
            var connections = live.ForApp(app.Id).Count + cluster.OnOtherNodes(app.Id);
            if (connections > 0)
            {
                For(app.Id)["connections.all.peak"] = connections;
            }
        }

        SampleChannels(For);
        foreach (var (appId, leaves) in byApp)
        {
            try
            {
                await store.AddAsync(appId, minute, leaves, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                // The engine is unreachable: these counts are lost (stats are an estimate, never worth a backlog).
                FlushFailed(logger, appId, ex.Message);
            }
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.Stats.FlushInterval, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                await FlushAsync(stoppingToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private void SampleChannels(Func<string, Dictionary<string, long>> leavesFor)
    {
        var active = channels.Keys.ToHashSet();
        foreach (var group in active.GroupBy(k => k.AppId))
        {
            var leaves = leavesFor(group.Key);
            leaves["channels.peak"] = group.Count();
            var opened = group.Count(k => !_previousChannels.Contains(k));
            if (opened > 0)
            {
                leaves["channels.opened"] = opened;
            }
        }

        _previousChannels = active;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Stats for app {AppId} not written: {Reason}")]
    private static partial void FlushFailed(ILogger logger, string appId, string reason);
}
