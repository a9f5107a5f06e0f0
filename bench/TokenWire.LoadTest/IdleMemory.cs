using System.Net.WebSockets;
using TokenWire.Protocol;

namespace TokenWire.LoadTest;

/// <summary>
/// <c>--idle N</c>: what an idle connection costs the server. Starts a fresh server, samples its resident set, opens N
/// connections — for TokenWire each CONNECTED and ATTACHED to one of 100 channels; for the raw baseline each
/// subscribed — lets the server settle, and reports the growth of its resident set divided by N. The connections
/// read what the server sends (heartbeats) the whole time, as real clients do.
/// </summary>
public sealed class IdleMemory(LoadTestOptions options, string? serverDll, string? rawDll, TextWriter output, TextWriter progress)
{
    private const int Channels = 100;
    private const int ConnectParallelism = 32;
    private static readonly TimeSpan Settle = TimeSpan.FromSeconds(10);

    public async Task<int> RunAsync(CancellationToken cancellationToken)
    {
        var failures = 0;
        var targets = options.Baseline ? options.Formats.Prepend(Target.Raw) : options.Formats;
        output.WriteLine("| server | connections | RSS before (MB) | RSS after (MB) | per connection (KB) |");
        output.WriteLine("|---|---:|---:|---:|---:|");
        foreach (var target in targets)
        {
            try
            {
                await using var server = target == Target.Raw
                    ? await ServerCluster.StartRawAsync(rawDll ?? throw new InvalidOperationException("no raw baseline dll"), cancellationToken)
                    : await ServerCluster.StartTokenWireAsync(serverDll ?? throw new InvalidOperationException("no server dll"), 1, false, options.ServerEnvironment, cancellationToken);
                var before = await SettledResidentSetAsync(server, cancellationToken);
                var sockets = new List<IDisposable>(options.Idle);
                try
                {
                    await OpenAsync(target, server.Nodes[0], sockets, cancellationToken);
                    var after = await SettledResidentSetAsync(server, cancellationToken);
                    var name = target switch { Target.Raw => "raw", Target.MessagePack => "tokenwire msgpack", _ => "tokenwire json" };
                    output.WriteLine($"| {name} | {sockets.Count} | {before / 1e6:0.0} | {after / 1e6:0.0} | {(after - before) / 1024.0 / sockets.Count:0.0} |");
                }
                finally
                {
                    foreach (var socket in sockets)
                    {
                        socket.Dispose();
                    }
                }
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                output.WriteLine($"| {target} | FAILED: {ex.GetType().Name}: {ex.Message} |");
                failures++;
            }
        }

        return failures == 0 ? 0 : 1;
    }

    private async Task OpenAsync(Target target, Uri server, List<IDisposable> sockets, CancellationToken cancellationToken)
    {
        var opened = 0;
        await Parallel.ForEachAsync(
            Enumerable.Range(0, options.Idle),
            new ParallelOptions { MaxDegreeOfParallelism = ConnectParallelism, CancellationToken = cancellationToken },
            async (i, ct) =>
            {
                var channel = $"idle-{i % Channels}";
                FrameSocket frames;
                if (target == Target.Raw)
                {
                    var uri = new UriBuilder(server) { Scheme = "ws", Path = "/", Query = $"role=sub&channel={channel}" }.Uri;
                    frames = await FrameSocket.ConnectAsync(uri, WebSocketMessageType.Binary, ct);
                }
                else
                {
                    var format = target == Target.MessagePack ? WireFormat.MessagePack : WireFormat.Json;
                    var connection = await AblySocket.ConnectAsync(server, options.Key, format, ct);
                    await connection.AttachAsync(channel, ct);
                    frames = connection.Frames;
                }

                _ = DrainAsync(frames, cancellationToken);
                lock (sockets)
                {
                    sockets.Add(frames);
                }

                if (Interlocked.Increment(ref opened) % 5000 == 0)
                {
                    progress.WriteLine($"  {target}: {opened} connections open");
                }
            });
    }

    /// <summary>Reads until the socket closes, as a client would; keeps heartbeats from piling up in the kernel.</summary>
    private static async Task DrainAsync(FrameSocket frames, CancellationToken cancellationToken)
    {
        try
        {
            while (!(await frames.ReceiveFrameAsync(cancellationToken)).IsEmpty)
            {
            }
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or ObjectDisposedException or InvalidOperationException)
        {
        }
    }

    /// <summary>The median of the server's resident set sampled once a second over <see cref="Settle"/>.</summary>
    private static async Task<long> SettledResidentSetAsync(ServerCluster server, CancellationToken cancellationToken)
    {
        var samples = new List<long>();
        for (var elapsed = TimeSpan.Zero; elapsed < Settle; elapsed += TimeSpan.FromSeconds(1))
        {
            await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken);
            samples.Add(server.WorkingSetBytes);
        }

        samples.Sort();
        return samples[samples.Count / 2];
    }
}
