using System.Diagnostics;
using TokenWire.Client;
using TokenWire.Protocol;

namespace TokenWire.AgentBench;

/// <summary>
/// Deliveries per second one subscriber receives for one streamed response (message-per-response: one create, then
/// an append per token at a fixed offered rate) with the publisher's appendRollupWindow set to each window.
/// </summary>
internal static class Rollup
{
    public static async Task<(int Appends, int Deliveries, double Seconds, bool Exact)> StreamAsync(RealtimeClientOptions options, int window, int tokensPerSecond, int tokens)
    {
        var channelName = $"mutable:rollup-{window}-{Guid.NewGuid():N}";
        await using var subscriber = new RealtimeClient(options);
        var observed = subscriber.Channels.Get(channelName);
        var live = observed.SubscribeAsync();
        await observed.AttachAsync();

        await using var agent = new RealtimeClient(options with { ClientId = "agent", TransportParams = new Dictionary<string, string> { ["appendRollupWindow"] = window.ToString(System.Globalization.CultureInfo.InvariantCulture) } });
        var channel = agent.Channels.Get(channelName);
        var created = await channel.PublishAsync("response", string.Empty);
        var serial = created.Serials[0]!;
        var expected = string.Concat(Enumerable.Range(0, tokens).Select(i => $"t{i} "));

        var clock = Stopwatch.StartNew();
        var acks = new List<Task>(tokens);
        for (var i = 0; i < tokens; i++)
        {
            var due = TimeSpan.FromSeconds((double)i / tokensPerSecond);
            if (due > clock.Elapsed)
            {
                await Task.Delay(due - clock.Elapsed);
            }

            acks.Add(channel.AppendMessageAsync(serial, $"t{i} "));
        }

        await Task.WhenAll(acks);
        var seconds = clock.Elapsed.TotalSeconds;
        var text = new System.Text.StringBuilder();
        var deliveries = 0;
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        while (text.Length < expected.Length)
        {
            var message = await live.Reader.ReadAsync(timeout.Token);
            if (message.Action == MessageActions.Append)
            {
                deliveries++;
                text.Append(message.GetText());
            }
        }

        return (tokens, deliveries, seconds, text.ToString() == expected);
    }
}
