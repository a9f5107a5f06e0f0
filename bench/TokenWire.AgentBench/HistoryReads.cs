using System.Diagnostics;
using TokenWire.Client;

namespace TokenWire.AgentBench;

/// <summary>
/// How long a reloaded page's <c>history({ untilAttach: true })</c> takes to page to its end (issue 12 item 5): a
/// 2,000-token response as message-per-token (2,000 messages, 20 pages of 100) and as message-per-response (one message
/// folded from 2,000 appends), read by an attached client, 30 times each after the given number of warm-up reads.
/// </summary>
internal static class HistoryReads
{
    public static async Task<(double P50Ms, double P90Ms, int Items, int Pages)> MeasureAsync(RealtimeClientOptions options, bool perResponse, int warmup, int tokens = 2_000, int reads = 30)
    {
        var channelName = $"mutable:history-{(perResponse ? "response" : "token")}-{Guid.NewGuid():N}";
        await using var agent = new RealtimeClient(options with { ClientId = "agent", TransportParams = new Dictionary<string, string> { ["appendRollupWindow"] = "0" } });
        var channel = agent.Channels.Get(channelName);
        if (perResponse)
        {
            var serial = (await channel.PublishAsync("response", string.Empty)).Serials[0]!;
            await Task.WhenAll(Enumerable.Range(0, tokens).Select(i => channel.AppendMessageAsync(serial, $"t{i} ")));
        }
        else
        {
            await Task.WhenAll(Enumerable.Range(0, tokens).Select(i => channel.PublishAsync("token", $"t{i} ")));
        }

        await using var reader = new RealtimeClient(options);
        var attached = reader.Channels.Get(channelName);
        await attached.AttachAsync();
        var times = new List<double>(reads);
        var items = 0;
        var pages = 0;
        for (var i = 0; i < reads + warmup; i++)
        {
            var clock = Stopwatch.StartNew();
            var page = await attached.HistoryAsync(new HistoryRequest { UntilAttach = true, Limit = 100 });
            (items, pages) = (page.Items.Count, 1);
            while (page.HasNext)
            {
                page = await page.NextAsync();
                items += page.Items.Count;
                pages++;
            }

            if (i >= warmup)
            {
                times.Add(clock.Elapsed.TotalMilliseconds);
            }
        }

        times.Sort();
        return (times[times.Count / 2], times[(int)(times.Count * 0.9)], items, pages);
    }
}
