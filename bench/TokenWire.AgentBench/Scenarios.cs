using System.Diagnostics;
using TokenWire.Client;

namespace TokenWire.AgentBench;

/// <summary>The two measurements: pipelined throughput, and latency at a fixed offered rate.</summary>
internal static class Scenarios
{
    public sealed record Result(int Tokens, double TokensPerSecond, double P50Ms, double P99Ms, double MaxMs, int OrderViolations);

    /// <summary>One agent publishing <paramref name="tokens"/> tokens without awaiting each; time until the last ACK.</summary>
    public static async Task<Result> ThroughputAsync(RealtimeClientOptions options, int tokens)
    {
        await using var client = new RealtimeClient(options);
        await client.ConnectAsync();
        var channel = client.Channels.Get("bench-throughput-" + Guid.NewGuid().ToString("N"));
        await channel.PublishAsync("warmup", "x");
        var acks = new Task[tokens];
        var extras = new { headers = new { responseId = "bench" } };
        var watch = Stopwatch.StartNew();
        for (var i = 0; i < tokens; i++)
        {
            acks[i] = channel.PublishAsync("token", new TokenData("tok" + i), extras);
        }

        await Task.WhenAll(acks);
        watch.Stop();
        return new Result(tokens, tokens / watch.Elapsed.TotalSeconds, 0, 0, 0, 0);
    }

    /// <summary>Publishes at <paramref name="rate"/> tokens/s for <paramref name="duration"/>; a second client measures delivery.</summary>
    public static async Task<Result> LatencyAsync(RealtimeClientOptions options, int rate, TimeSpan duration)
    {
        var name = "bench-latency-" + Guid.NewGuid().ToString("N");
        await using var subscriberClient = new RealtimeClient(options);
        await using var publisherClient = new RealtimeClient(options);
        var subscriberChannel = subscriberClient.Channels.Get(name);
        var publisherChannel = publisherClient.Channels.Get(name);
        var total = (int)(rate * duration.TotalSeconds);
        var scheduled = new long[total];
        var latencies = new double[total];
        var received = 0;
        var violations = 0;
        var expected = 0;
        var done = new TaskCompletionSource();
        using var subscription = subscriberChannel.Subscribe("token", message =>
        {
            var now = Stopwatch.GetTimestamp();
            var index = int.Parse(message.GetHeader("index")!, System.Globalization.CultureInfo.InvariantCulture);
            if (index != expected)
            {
                violations++;
            }

            expected = index + 1;
            latencies[index] = Stopwatch.GetElapsedTime(scheduled[index], now).TotalMilliseconds;
            if (++received == total)
            {
                done.TrySetResult();
            }
        });
        await subscriberChannel.AttachAsync();
        await publisherClient.ConnectAsync();

        // Sends follow a fixed schedule; latency counts from the scheduled time, so a stalled sender shows up as latency.
        var start = Stopwatch.GetTimestamp();
        var ticksPerToken = Stopwatch.Frequency / (double)rate;
        var acks = new List<Task>(total);
        for (var i = 0; i < total; i++)
        {
            var due = start + (long)(i * ticksPerToken);
            while (Stopwatch.GetTimestamp() < due)
            {
                var wait = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), due);
                if (wait > TimeSpan.FromMilliseconds(2))
                {
                    await Task.Delay(wait - TimeSpan.FromMilliseconds(1));
                }
                else
                {
                    Thread.SpinWait(50);
                }
            }

            scheduled[i] = due;
            acks.Add(publisherChannel.PublishAsync("token", new TokenData("t" + i), new { headers = new { responseId = "bench", index = i } }));
        }

        await Task.WhenAll(acks);
        await done.Task.WaitAsync(TimeSpan.FromSeconds(30));
        var elapsed = Stopwatch.GetElapsedTime(start).TotalSeconds;
        Array.Sort(latencies);
        return new Result(total, total / elapsed, Percentile(latencies, 0.50), Percentile(latencies, 0.99), latencies[^1], violations);
    }

    private static double Percentile(double[] sorted, double p) => sorted[Math.Min(sorted.Length - 1, (int)(p * sorted.Length))];

    private sealed record TokenData(string Token);
}
