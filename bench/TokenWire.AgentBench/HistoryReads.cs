using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text;
using System.Text.RegularExpressions;
using TokenWire.Client;

namespace TokenWire.AgentBench;

/// <summary>
/// How long a reloaded page's <c>history({ untilAttach: true })</c> takes to page to its end (issue 12 item 5): a
/// 2,000-token response as message-per-token (2,000 messages, 20 pages of 100) and as message-per-response (one message
/// folded from 2,000 appends), read by an attached client, 30 times each after the given number of warm-up reads,
/// <c>limit</c> messages a page. Also timed: the process's first read (cold: neither the server's nor the client's page
/// path jitted yet) and the same pages fetched as raw HTTP bodies, not decoded (the server and loopback alone).
/// </summary>
internal static partial class HistoryReads
{
    public sealed record Result(double P50Ms, double P90Ms, int Items, int Pages, double FirstMs, double RawP50Ms);

    public static async Task<Result> MeasureAsync(RealtimeClientOptions options, bool perResponse, int warmup, int limit = 100, int tokens = 2_000, int reads = 30)
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
        var firstMs = 0.0;
        for (var i = 0; i < reads + warmup; i++)
        {
            var clock = Stopwatch.StartNew();
            var page = await attached.HistoryAsync(new HistoryRequest { UntilAttach = true, Limit = limit });
            (items, pages) = (page.Items.Count, 1);
            while (page.HasNext)
            {
                page = await page.NextAsync();
                items += page.Items.Count;
                pages++;
            }

            if (i == 0)
            {
                firstMs = clock.Elapsed.TotalMilliseconds;
            }

            if (i >= warmup)
            {
                times.Add(clock.Elapsed.TotalMilliseconds);
            }
        }

        times.Sort();
        var raw = await RawReadsAsync(options, channelName, limit, reads + warmup);
        return new Result(times[times.Count / 2], times[(int)(times.Count * 0.9)], items, pages, firstMs, raw[warmup..].Order().ElementAt(reads / 2));
    }

    /// <summary>The same pages (newest first, following each <c>Link rel="next"</c>) as bodies read, not decoded.</summary>
    private static async Task<double[]> RawReadsAsync(RealtimeClientOptions options, string channelName, int limit, int reads)
    {
        using var http = new HttpClient { BaseAddress = new Uri($"http://{options.Endpoint}:{options.Port}/channels/{Uri.EscapeDataString(channelName)}/") };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(options.Key!)));
        http.DefaultRequestHeaders.Accept.ParseAdd(options.UseBinaryProtocol ? "application/x-msgpack" : "application/json");
        var times = new double[reads];
        for (var i = 0; i < reads; i++)
        {
            var clock = Stopwatch.StartNew();
            string? next = $"messages?limit={limit}";
            while (next is not null)
            {
                using var response = await http.GetAsync(next);
                response.EnsureSuccessStatusCode();
                _ = await response.Content.ReadAsByteArrayAsync();
                var query = response.Headers.TryGetValues("Link", out var links)
                    ? links.Select(l => NextLink().Match(l)).FirstOrDefault(m => m.Success)?.Groups["query"].Value
                    : null;
                next = query is null ? null : "messages?" + query;
            }

            times[i] = clock.Elapsed.TotalMilliseconds;
        }

        return times;
    }

    [GeneratedRegex(@"<\./messages\?(?<query>[^>]+)>;\s*rel=""next""")]
    private static partial Regex NextLink();
}
