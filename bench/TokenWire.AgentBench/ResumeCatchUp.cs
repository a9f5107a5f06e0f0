using TokenWire.Testing;
using System.Diagnostics;
using System.Globalization;
using TokenWire.Client;

namespace TokenWire.AgentBench;

/// <summary>
/// Resume with missed tokens (issue 12 item 5): a subscriber attached through a <see cref="TcpProxy"/> loses its
/// transport, <c>missed</c> tokens are published (and acknowledged) while its reconnect is held at the proxy, then the
/// proxy lets the reconnect through. Measured from that release — the moment the new transport can reach the server —
/// to the CONNECTED that resumes the connection, to the channel's re-ATTACHED, to the delivery of the first missed
/// token and to that of the last. The client itself is untouched: it sees a reset socket, reconnects at once (RTN15a)
/// and resumes with its key.
/// </summary>
internal static class ResumeCatchUp
{
    public sealed record Result(int Repetitions, double ConnectedP50Ms, double ConnectedP90Ms, double AttachedP50Ms, double AttachedP90Ms, double FirstP50Ms, double FirstP90Ms, double LastP50Ms, double LastP90Ms, double LastMaxMs, int Resumed, int Exact);

    public static async Task<Result> MeasureAsync(RealtimeClientOptions options, int port, int missed = 1_000, int repetitions = 30, int warmup = 3)
    {
        var channelName = $"resume-{Guid.NewGuid():N}";
        await using var proxy = new TcpProxy(port);
        await using var subscriber = new RealtimeClient(options with { Port = proxy.Port });
        await using var publisher = new RealtimeClient(options);
        var channel = subscriber.Channels.Get(channelName);
        var publishing = publisher.Channels.Get(channelName);

        // Written by the client's dispatch, read here between rounds (after the round's last delivery or a timeout).
        var gate = new object();
        var expected = 0;
        var last = -1;
        var inOrder = 0;
        var received = 0;
        var first = 0;
        long firstAt = 0;
        TaskCompletionSource<long> lastDelivered = new();
        using var subscription = channel.Subscribe("token", message =>
        {
            var now = Stopwatch.GetTimestamp();
            var index = int.Parse(message.GetHeader("index")!, CultureInfo.InvariantCulture);
            lock (gate)
            {
                inOrder += index == expected ? 1 : 0;
                received++;
                expected = index + 1;
                if (index == first)
                {
                    firstAt = now;
                }

                if (index == last)
                {
                    lastDelivered.TrySetResult(now);
                }
            }
        });
        long connectedAt = 0;
        subscriber.Connection.StateChanged += (_, change) =>
        {
            if (change.Current == ConnectionState.Connected)
            {
                Volatile.Write(ref connectedAt, Stopwatch.GetTimestamp());
            }
        };

        // The re-ATTACHED after CONNECTED (RTN15c6), to tell the attach round trip from the replay.
        long attachedAt = 0;
        channel.StateChanged += (_, change) =>
        {
            if (change.Current == ChannelState.Attached)
            {
                Volatile.Write(ref attachedAt, Stopwatch.GetTimestamp());
            }
        };

        await channel.AttachAsync();
        await publisher.ConnectAsync();
        var next = 0;

        // One delivered round before the first cut: the channel is live on both sides and the JIT has seen the path.
        await PublishRoundAsync(100);
        await lastDelivered.Task.WaitAsync(TimeSpan.FromSeconds(30));

        var toConnected = new List<double>(repetitions);
        var toLast = new List<double>(repetitions);
        var toFirst = new List<double>(repetitions);
        var toAttached = new List<double>(repetitions);
        var resumed = 0;
        var exact = 0;
        for (var round = 0; round < warmup + repetitions; round++)
        {
            var connectionId = subscriber.Connection.Id;
            proxy.HoldNewConnections();
            proxy.KillConnections();

            // The reconnect is under way (its socket waits at the proxy) before anything is published.
            var waiting = Stopwatch.StartNew();
            while (proxy.Held == 0 || subscriber.Connection.State != ConnectionState.Connecting)
            {
                if (waiting.Elapsed > TimeSpan.FromSeconds(10))
                {
                    throw new TimeoutException($"the client did not reconnect within 10 s (state {subscriber.Connection.State})");
                }

                await Task.Delay(1);
            }

            lock (gate)
            {
                inOrder = 0;
                received = 0;
                first = next;
            }

            await PublishRoundAsync(missed);
            Volatile.Write(ref connectedAt, 0);
            Volatile.Write(ref attachedAt, 0);
            var released = proxy.ReleaseHeld();
            var delivered = await lastDelivered.Task.WaitAsync(TimeSpan.FromSeconds(30));
            await subscriber.Connection.WaitForStateAsync(ConnectionState.Connected).WaitAsync(TimeSpan.FromSeconds(10));
            if (round < warmup)
            {
                continue;
            }

            toLast.Add(Stopwatch.GetElapsedTime(released, delivered).TotalMilliseconds);
            toConnected.Add(Stopwatch.GetElapsedTime(released, Volatile.Read(ref connectedAt)).TotalMilliseconds);

            // No event when the channel stays ATTACHED through the resume: counted as not seen.
            var attached = Volatile.Read(ref attachedAt);
            toAttached.Add(attached == 0 ? double.NaN : Stopwatch.GetElapsedTime(released, attached).TotalMilliseconds);
            resumed += subscriber.Connection.Id == connectionId ? 1 : 0;
            lock (gate)
            {
                // Every missed token, once, in order: the round's first one continued the previous round's sequence.
                exact += inOrder == missed && received == missed ? 1 : 0;
                toFirst.Add(Stopwatch.GetElapsedTime(released, firstAt).TotalMilliseconds);
            }
        }

        toConnected.Sort();
        toLast.Sort();
        toFirst.Sort();
        toAttached.RemoveAll(double.IsNaN);
        toAttached.Sort();
        return new Result(repetitions, Percentile(toConnected, 0.5), Percentile(toConnected, 0.9), Percentile(toAttached, 0.5), Percentile(toAttached, 0.9), Percentile(toFirst, 0.5), Percentile(toFirst, 0.9), Percentile(toLast, 0.5), Percentile(toLast, 0.9), toLast[^1], resumed, exact);

        async Task PublishRoundAsync(int count)
        {
            lock (gate)
            {
                last = next + count - 1;
                lastDelivered = new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously);
            }

            // Pipelined, as an agent streams; every ACK awaited, so all of them are in the log before the reconnect.
            var acks = new List<Task>(count);
            for (var i = 0; i < count; i++)
            {
                var index = next++;
                acks.Add(publishing.PublishAsync("token", new TokenData("t" + index), new { headers = new { responseId = "bench", index } }));
            }

            await Task.WhenAll(acks).WaitAsync(TimeSpan.FromSeconds(30));
        }
    }

    private static double Percentile(List<double> sorted, double p) => sorted.Count == 0 ? double.NaN : sorted[Math.Min(sorted.Count - 1, (int)(p * sorted.Count))];

    private sealed record TokenData(string Token);
}
