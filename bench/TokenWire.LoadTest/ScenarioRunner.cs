using System.Diagnostics;

namespace TokenWire.LoadTest;

/// <summary>
/// Runs one scenario end to end against one target: connect the subscribers (each subscribed when its connect
/// returns), connect one publisher per stream, publish on schedule for warm-up + duration, wait (bounded) for
/// deliveries and ACKs, close everything, and summarise. The same schedule, order check, latency histogram, CPU
/// sampling and byte counting serve TokenWire and the raw baseline; only <see cref="TargetClient"/> differs.
/// </summary>
public sealed class ScenarioRunner(LoadTestOptions options, TextWriter progress)
{
    /// <summary>Concurrent WebSocket handshakes while connecting.</summary>
    private const int ConnectConcurrency = 32;

    /// <param name="nodes">Where subscribers connect, round-robin; the publishers connect to the first.</param>
    /// <param name="cluster">The started servers, for CPU and memory; null against an external server.</param>
    public async Task<ScenarioResult> RunAsync(Scenario scenario, Timing timing, IReadOnlyList<Uri> nodes, ServerCluster? cluster, CancellationToken cancellationToken)
    {
        // Connecting, publishing and draining each have their own bound; this one catches anything that hangs.
        var budget = TimeSpan.FromSeconds(120) + timing.Warmup + timing.Duration + timing.Drain + TimeSpan.FromSeconds(30);
        using var scenarioCts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        scenarioCts.CancelAfter(budget);
        var ct = scenarioCts.Token;

        var shape = scenario.Shape;
        var client = TargetClient.For(scenario, options.Key, options.Decode);
        var run = Guid.NewGuid().ToString("N")[..12];
        var channels = Enumerable.Range(0, shape.Streams).Select(k => $"loadtest-{scenario.TargetName}-{run}-{k}").ToArray();
        var schedule = new PublishSchedule(shape.Rate, shape.Streams, timing);
        var latency = new LatencyHistogram();
        var slowLatency = new LatencyHistogram();
        var ackLatency = new LatencyHistogram();
        var sendLag = new LatencyHistogram();
        var subscribers = new Subscriber[shape.TotalSubscribers];
        var publisherSockets = new FrameSocket[shape.Streams];
        var loops = new List<Task>();
        using var loopCts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        try
        {
            // 1. Subscribers: subscriber i is stream i mod S's (i / S)-th, on node (i / S) mod N, so each stream's
            //    subscribers are spread over the nodes and with a cluster every delivery but 1/N crosses Redis.
            var connectTimer = Stopwatch.StartNew();
            using (var connectCts = CancellationTokenSource.CreateLinkedTokenSource(ct))
            {
                connectCts.CancelAfter(TimeSpan.FromSeconds(60));
                await Parallel.ForEachAsync(
                    Enumerable.Range(0, shape.TotalSubscribers),
                    new ParallelOptions { MaxDegreeOfParallelism = ConnectConcurrency, CancellationToken = connectCts.Token },
                    async (i, token) =>
                    {
                        var stream = i % shape.Streams;
                        var socket = await client.ConnectSubscriberAsync(nodes[i / shape.Streams % nodes.Count], channels[stream], token);
                        var slow = i >= shape.TotalSubscribers - scenario.Slow;
                        subscribers[i] = new Subscriber(socket, client.CreateScanner(stream, schedule), stream, schedule, slow ? slowLatency : latency);
                    });

                // 2. One publisher per stream, on the first node.
                await Parallel.ForEachAsync(
                    Enumerable.Range(0, shape.Streams),
                    new ParallelOptions { MaxDegreeOfParallelism = ConnectConcurrency, CancellationToken = connectCts.Token },
                    async (k, token) => publisherSockets[k] = await client.ConnectPublisherAsync(nodes[0], channels[k], token));
            }

            var connectSeconds = connectTimer.Elapsed.TotalSeconds;
            progress.WriteLine($"  {shape.TotalSubscribers} subscribers and {shape.Streams} publishers connected in {connectSeconds:0.0} s");

            // The last --slow subscribers read at a fraction of their stream's first subscriber's pace (options
            // guarantee that one is normal); with one stream they are its last ones, with several spread over them.
            for (var i = shape.TotalSubscribers - scenario.Slow; i < shape.TotalSubscribers; i++)
            {
                subscribers[i].ReadSlowly(subscribers[i % shape.Streams], options.SlowFraction);
            }

            // Every receive loop runs before the first publish.
            var publisher = new Publisher(client, publisherSockets, channels, schedule, ackLatency, sendLag);
            foreach (var subscriber in subscribers)
            {
                loops.Add(subscriber.RunAsync(loopCts.Token));
            }

            for (var k = 0; k < shape.Streams; k++)
            {
                loops.Add(publisher.ReadAsync(k, loopCts.Token));
            }

            // A 1 s pause before publishing, sampling the server's CPU: with a few connections this is its idle cost
            // (timers, pings), with thousands it is still the tail of their setup (handshakes, JIT tier-up) — which
            // is why it runs before, not inside, the measured window.
            var postConnectCores = await SampleServerCoresAsync(cluster, TimeSpan.FromSeconds(1), ct);

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
            progress.WriteLine($"  {scenario.TargetName}: publishing {schedule.Total} messages, {shape.Streams} x {shape.Rate:0.##}/s ({timing.Warmup.TotalSeconds:0.#} s warm-up + {timing.Duration.TotalSeconds:0.#} s measured)");
            await publishing.Task.WaitAsync(ct);
            var cpuUse = await cpu;

            // 4. Drain: every subscriber has its stream's last message and every publish its ACK, or the drain time is up.
            // Slow subscribers are not waited for: they could take ten times the run to catch up, if they are not disconnected.
            var drained = Task.WhenAll(subscribers.Where(s => !s.IsSlow).Select(s => s.Completion).Append(publisher.AckCompletion));
            try
            {
                await drained.WaitAsync(timing.Drain, ct);
            }
            catch (TimeoutException)
            {
                progress.WriteLine($"  drain timed out after {timing.Drain.TotalSeconds:0} s");
            }

            var serverMemory = cluster is null ? (double?)null : cluster.WorkingSetBytes / (1024.0 * 1024.0);
            var result = Summarise(scenario, client, schedule, subscribers, publisher, latency, ackLatency, sendLag, cpuUse, postConnectCores, serverMemory, connectSeconds);
            return result with { ServerPeakMemoryMb = cluster is null ? null : cluster.PeakWorkingSetBytes / (1024.0 * 1024.0), SlowSubscribers = SlowOutcome(subscribers, schedule) };
        }
        finally
        {
            await loopCts.CancelAsync();
            var sockets = subscribers.Where(s => s is not null).Select(s => s.Socket).Concat(publisherSockets.Where(s => s is not null));
            await CloseAllAsync(sockets, polite: cluster is null, client.Goodbye);
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

    /// <summary>What became of the slow subscribers by the end of the drain; null when there were none.</summary>
    private static SlowOutcome? SlowOutcome(Subscriber[] subscribers, PublishSchedule schedule)
    {
        var slow = subscribers.Where(s => s.IsSlow).ToList();
        if (slow.Count == 0)
        {
            return null;
        }

        var ended = slow.Where(s => s.EndedEarly is not null).Select(s => Stopwatch.GetElapsedTime(schedule.Start, s.EndedAt).TotalSeconds).Order().ToList();
        return new SlowOutcome(
            slow.Count,
            ended.Count,
            ended.Count == 0 ? null : ended[ended.Count / 2],
            slow.Sum(s => s.Delivered) / (double)(slow.Count * schedule.PerStream),
            slow.Sum(s => s.Duplicates + s.Reordered),
            slow.Where(s => s.EndedEarly is not null).Select(s => s.EndedEarly!).FirstOrDefault());
    }

    private static ScenarioResult Summarise(
        Scenario scenario,
        TargetClient client,
        PublishSchedule schedule,
        Subscriber[] subscribers,
        Publisher publisher,
        LatencyHistogram latency,
        LatencyHistogram ackLatency,
        LatencyHistogram sendLag,
        CpuUse cpu,
        double? postConnectServerCores,
        double? serverMemoryMb,
        double connectSeconds)
    {
        var window = schedule.WindowEnd - schedule.WindowStart;

        // Rates over the time it actually took: a publisher or server that falls behind stretches the window.
        var publishSpan = Math.Max(window, publisher.LastMeasuredSend - schedule.WindowStart);
        var lastDelivery = subscribers.Max(s => s.LastMeasuredDelivery);

        // Order, loss and dropped sockets are the normal subscribers' (the slow ones have their own SlowOutcome);
        // rates, CPU and bytes count every delivery, since the server did the work for all of them.
        var normal = subscribers.Where(s => !s.IsSlow).ToList();
        var deliverySpan = Math.Max(window, lastDelivery - schedule.WindowStart);
        var measuredDelivered = subscribers.Sum(s => s.MeasuredDelivered);
        var delivered = subscribers.Sum(s => s.Delivered + s.Duplicates);
        var windowDelivered = subscribers.Sum(s => s.WindowDelivered);
        var published = Math.Max(1, publisher.Sent);

        return new ScenarioResult(
            scenario,
            PublishedPerSecond: publisher.MeasuredSent * (double)Stopwatch.Frequency / publishSpan,
            DeliveriesPerSecond: measuredDelivered * (double)Stopwatch.Frequency / deliverySpan,
            LatencySamples: latency.Count,
            P50Ms: latency.PercentileMicros(50) / 1000.0,
            P99Ms: latency.PercentileMicros(99) / 1000.0,
            MaxMs: latency.MaxMicros / 1000.0,
            AckP99Ms: client.HasAcks ? ackLatency.PercentileMicros(99) / 1000.0 : null,
            SendLagP99Ms: sendLag.PercentileMicros(99) / 1000.0,
            Lost: normal.Sum(s => s.Lost),
            Duplicates: normal.Sum(s => s.Duplicates),
            Reordered: normal.Sum(s => s.Reordered),
            BadPayloads: subscribers.Sum(s => s.PayloadErrors),
            EndedEarly: normal.Count(s => s.EndedEarly is not null) + (publisher.Failure is null ? 0 : 1),
            Nacks: publisher.Nacked,
            ServerCores: cpu.Server,
            ServerKernelCores: cpu.ServerKernel,
            PostConnectServerCores: postConnectServerCores,
            RedisCores: cpu.Redis,
            ClientCores: cpu.Client,
            OtherCores: cpu.Other,
            ServerMemoryMb: serverMemoryMb,
            ConnectSeconds: connectSeconds,
            ServerCpuMicrosPerDelivery: cpu.Server is { } cores && windowDelivered > 0 ? cores * cpu.Seconds * 1e6 / windowDelivered : null,
            WireBytesPerDelivery: delivered == 0 ? 0 : subscribers.Sum(s => s.WireBytes) / (double)delivered,
            PublishWireBytesPerMessage: publisher.Sockets.Sum(s => s.WireBytesSent) / (double)published,
            ReplyWireBytesPerMessage: client.HasAcks ? publisher.Sockets.Sum(s => s.WireBytesReceived) / (double)published : null);
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
        return new CpuUse(serverCores, serverKernelCores, redisCores, clientCores, otherCores, seconds);
    }

    private static async Task<double?> SampleServerCoresAsync(ServerCluster? server, TimeSpan period, CancellationToken cancellationToken)
    {
        if (server is null)
        {
            await Task.Delay(period, cancellationToken);
            return null;
        }

        var before = server.CpuTime.Total;
        var wall = Stopwatch.StartNew();
        await Task.Delay(period, cancellationToken);
        return (server.CpuTime.Total - before).TotalSeconds / wall.Elapsed.TotalSeconds;
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
    /// Against an external server, say goodbye (Ably CLOSE, so the server does not keep the connection resumable) and
    /// close each socket; a server this tool started is about to be stopped, so its sockets are just aborted.
    /// </summary>
    private static async Task CloseAllAsync(IEnumerable<FrameSocket> sockets, bool polite, ReadOnlyMemory<byte> goodbye)
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
            await socket.CloseAsync(goodbye, TimeSpan.FromSeconds(2));
            socket.Dispose();
        });
    }

    private readonly record struct CpuUse(double? Server, double? ServerKernel, double? Redis, double Client, double? Other, double Seconds);
}
