using System.Diagnostics;
using TokenWire.Protocol;

namespace TokenWire.LoadTest;

/// <summary>
/// Runs one scenario end to end: connect and attach the subscribers, connect the publisher, publish on schedule for
/// warm-up + duration, wait (bounded) for deliveries and ACKs, close everything, and summarise.
/// </summary>
public sealed class ScenarioRunner(LoadTestOptions options, TextWriter progress)
{
    /// <summary>Concurrent WebSocket handshakes while connecting subscribers.</summary>
    private const int ConnectConcurrency = 32;

    /// <param name="nodes">Where subscribers connect, round-robin; the publisher connects to the first.</param>
    /// <param name="cluster">The started servers, for CPU and memory; null against an external server.</param>
    public async Task<ScenarioResult> RunAsync(Scenario scenario, IReadOnlyList<Uri> nodes, ServerCluster? cluster, CancellationToken cancellationToken)
    {
        // Connecting, publishing and draining each have their own bound; this one catches anything that hangs.
        var budget = TimeSpan.FromSeconds(60) + options.Warmup + options.Duration + options.Drain + TimeSpan.FromSeconds(30);
        using var scenarioCts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        scenarioCts.CancelAfter(budget);
        var ct = scenarioCts.Token;

        var channel = $"loadtest-{scenario.FormatName}-{scenario.Subscribers}x{scenario.Rate:0}-{Guid.NewGuid():N}"[..48];
        var schedule = new PublishSchedule(scenario.Rate, options.Warmup, options.Duration);
        var latency = new LatencyHistogram();
        var ackLatency = new LatencyHistogram();
        var sendLag = new LatencyHistogram();
        var subscribers = new Subscriber[scenario.Subscribers];
        AblySocket? publisherSocket = null;
        var loops = new List<Task>();
        using var loopCts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        try
        {
            // 1. Subscribers: CONNECTED, ATTACH, ATTACHED.
            var connectTimer = Stopwatch.StartNew();
            using (var connectCts = CancellationTokenSource.CreateLinkedTokenSource(ct))
            {
                connectCts.CancelAfter(TimeSpan.FromSeconds(60));
                await Parallel.ForEachAsync(
                    Enumerable.Range(0, scenario.Subscribers),
                    new ParallelOptions { MaxDegreeOfParallelism = ConnectConcurrency, CancellationToken = connectCts.Token },
                    async (i, token) =>
                    {
                        // Spread over the nodes, so with a cluster every delivery but 1/n crosses Redis.
                        var socket = await AblySocket.ConnectAsync(nodes[i % nodes.Count], options.Key, scenario.Format, token);
                        subscribers[i] = new Subscriber(socket, schedule, latency, options.Decode);
                        await socket.AttachAsync(channel, token);
                    });
            }

            var connectSeconds = connectTimer.Elapsed.TotalSeconds;
            progress.WriteLine($"  {scenario.Subscribers} subscribers connected and attached in {connectSeconds:0.0} s");

            // 2. Publisher; subscriber and ACK loops start before the first publish.
            publisherSocket = await AblySocket.ConnectAsync(nodes[0], options.Key, scenario.Format, ct);
            var publisher = new Publisher(publisherSocket, channel, schedule, ackLatency, sendLag);
            foreach (var subscriber in subscribers)
            {
                loops.Add(subscriber.RunAsync(loopCts.Token));
            }

            loops.Add(publisher.ReadAcksAsync(loopCts.Token));

            // 3. Publish on schedule, sampling CPU over exactly the measured window.
            schedule.StartAt(Stopwatch.GetTimestamp() + Stopwatch.Frequency / 20);
            var cpu = SampleCpuAsync(schedule, cluster, ct);
            var publishing = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var thread = new Thread(() =>
            {
                publisher.Publish(ct);
                publishing.TrySetResult();
            })
            {
                IsBackground = true,
                Name = "publisher",
            };
            thread.Start();
            progress.WriteLine($"  publishing {schedule.Total} messages at {scenario.Rate:0}/s ({options.Warmup.TotalSeconds:0.#} s warm-up + {options.Duration.TotalSeconds:0.#} s measured)");
            await publishing.Task.WaitAsync(ct);
            var cpuUse = await cpu;

            // 4. Drain: every subscriber has its last message and every publish its ACK, or the drain time is up.
            var drained = Task.WhenAll(subscribers.Select(s => s.Completion).Append(publisher.AckCompletion));
            try
            {
                await drained.WaitAsync(options.Drain, ct);
            }
            catch (TimeoutException)
            {
                progress.WriteLine($"  drain timed out after {options.Drain.TotalSeconds:0} s");
            }

            var serverMemory = cluster is null ? (double?)null : cluster.WorkingSetBytes / (1024.0 * 1024.0);
            return Summarise(scenario, schedule, subscribers, publisher, latency, ackLatency, sendLag, cpuUse, serverMemory, connectSeconds);
        }
        finally
        {
            await loopCts.CancelAsync();
            await CloseAllAsync(subscribers.Where(s => s is not null).Select(s => s.Socket).Append(publisherSocket).OfType<AblySocket>(), polite: cluster is null);
            try
            {
                await Task.WhenAll(loops).WaitAsync(TimeSpan.FromSeconds(10), CancellationToken.None);
            }
            catch (TimeoutException)
            {
                progress.WriteLine("  some receive loops did not stop within 10 s");
            }
        }
    }

    private static ScenarioResult Summarise(
        Scenario scenario,
        PublishSchedule schedule,
        Subscriber[] subscribers,
        Publisher publisher,
        LatencyHistogram latency,
        LatencyHistogram ackLatency,
        LatencyHistogram sendLag,
        CpuUse cpu,
        double? serverMemoryMb,
        double connectSeconds)
    {
        var window = schedule.WindowEnd - schedule.WindowStart;

        // Rates over the time it actually took: a publisher or server that falls behind stretches the window.
        var publishSpan = Math.Max(window, publisher.LastMeasuredSend - schedule.WindowStart);
        var lastDelivery = subscribers.Max(s => s.LastMeasuredDelivery);
        var deliverySpan = Math.Max(window, lastDelivery - schedule.WindowStart);
        var measuredDelivered = subscribers.Sum(s => s.MeasuredDelivered);

        return new ScenarioResult(
            scenario,
            PublishedPerSecond: publisher.MeasuredSent * (double)Stopwatch.Frequency / publishSpan,
            DeliveriesPerSecond: measuredDelivered * (double)Stopwatch.Frequency / deliverySpan,
            P50Ms: latency.PercentileMicros(50) / 1000.0,
            P99Ms: latency.PercentileMicros(99) / 1000.0,
            MaxMs: latency.MaxMicros / 1000.0,
            AckP99Ms: ackLatency.PercentileMicros(99) / 1000.0,
            SendLagP99Ms: sendLag.PercentileMicros(99) / 1000.0,
            OrderViolations: subscribers.Sum(s => s.Gaps + s.Regressions + s.PayloadErrors),
            Missing: subscribers.Sum(s => s.Missing),
            EndedEarly: subscribers.Count(s => s.EndedEarly is not null) + (publisher.Failure is null ? 0 : 1),
            Nacks: publisher.Nacked,
            ServerCores: cpu.Server,
            ServerKernelCores: cpu.ServerKernel,
            RedisCores: cpu.Redis,
            ClientCores: cpu.Client,
            OtherCores: cpu.Other,
            ServerMemoryMb: serverMemoryMb,
            ConnectSeconds: connectSeconds);
    }

    /// <summary>
    /// CPU used during the measured window, in cores: by the server nodes, by their Redis, by this process, and by
    /// everything else on the machine (from /proc/stat) — the last must be near zero for the numbers to mean anything
    /// on a shared box.
    /// </summary>
    private static async Task<CpuUse> SampleCpuAsync(PublishSchedule schedule, ServerCluster? server, CancellationToken cancellationToken)
    {
        var self = Process.GetCurrentProcess();
        await DelayUntilAsync(schedule.WindowStart, cancellationToken);
        self.Refresh();
        var client0 = self.TotalProcessorTime;
        var server0 = server?.CpuTime;
        var machine0 = MachineCpu.Read();
        var wall = Stopwatch.StartNew();
        await DelayUntilAsync(schedule.WindowEnd, cancellationToken);
        self.Refresh();
        var client1 = self.TotalProcessorTime;
        var server1 = server?.CpuTime;
        var machine1 = MachineCpu.Read();
        var seconds = wall.Elapsed.TotalSeconds;
        var clientCores = (client1 - client0).TotalSeconds / seconds;
        double? serverCores = server0 is { } s0 && server1 is { } s1 ? (s1.Total - s0.Total).TotalSeconds / seconds : null;
        double? serverKernelCores = server0 is { } k0 && server1 is { } k1 ? (k1.Kernel - k0.Kernel).TotalSeconds / seconds : null;
        double? busyCores = machine0 is { } m0 && machine1 is { } m1 ? MachineCpu.BusyCores(m0, m1) : null;
        double? redisCores = server0?.Redis is { } r0 && server1?.Redis is { } r1 ? (r1 - r0).TotalSeconds / seconds : null;
        double? otherCores = busyCores is { } busy && serverCores is { } sc ? Math.Max(0, busy - sc - (redisCores ?? 0) - clientCores) : null;
        return new CpuUse(serverCores, serverKernelCores, redisCores, clientCores, otherCores);
    }

    private static async Task DelayUntilAsync(long timestamp, CancellationToken cancellationToken)
    {
        var wait = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), timestamp);
        if (wait > TimeSpan.Zero)
        {
            await Task.Delay(wait, cancellationToken);
        }
    }

    /// <summary>
    /// Against an external server, CLOSE each connection so the server does not keep it resumable; a server this
    /// tool started is about to be stopped, so its sockets are just aborted.
    /// </summary>
    private static async Task CloseAllAsync(IEnumerable<AblySocket> sockets, bool polite)
    {
        if (!polite)
        {
            foreach (var socket in sockets)
            {
                socket.Abort();
                socket.Dispose();
            }

            return;
        }

        await Parallel.ForEachAsync(sockets, new ParallelOptions { MaxDegreeOfParallelism = 64 }, async (socket, _) =>
        {
            await socket.CloseAsync(TimeSpan.FromSeconds(2));
            socket.Dispose();
        });
    }

    private readonly record struct CpuUse(double? Server, double? ServerKernel, double? Redis, double Client, double? Other);
}
