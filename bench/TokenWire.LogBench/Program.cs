using System.Diagnostics;
using System.Globalization;
using System.Text;
using TokenWire.Protocol;
using TokenWire.Protocol.Serials;
using TokenWire.Server.Engine;
using TokenWire.Server.Log;

// Usage: TokenWire.LogBench [retained messages, default 600000 = 2 minutes at 5,000/s] [steady appends, default 200000]
//   [tokens|messages] [channels, default 1000]
// Messages are the load test's (bench/TokenWire.LoadTest): a 15-byte JSON string, a name, extras with two headers,
// a realtime id; spread over 1,000 channels like its 1000x5x1 scenario (or as many as given: 1 is burst C's shape in
// docs/benchmarks.md, "Memory after a burst", one channel's history of ~88,000). With "tokens", each channel streams one
// response instead: a message.create, then every message is an append of a 4-character token to it (AI Transport's
// shape, with its headers on the create only).
var retained = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 600_000;
var steady = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 200_000;
var tokens = args.Length > 2 && args[2] == "tokens";
var channels = args.Length > 3 ? int.Parse(args[3], CultureInfo.InvariantCulture) : 1000;

using var log = new InMemoryMessageLog(TimeProvider.System, TimeSpan.FromMinutes(10));
var retention = new ChannelRetention(TimeSpan.FromHours(1), int.MaxValue, TimeSpan.FromHours(1), Mutable: tokens);
var connections = Enumerable.Range(0, channels).Select(i => $"conn{i:D6}abcdefgh").ToArray();
var keys = Enumerable.Range(0, channels).Select(i => new ChannelKey("app", $"load-{i}")).ToArray();

Message MessageNumber(int i) => new()
{
    Id = $"{connections[i % channels]}:{i / channels}:0",
    ConnectionId = connections[i % channels],
    Name = "token",
    Data = MessageData.FromText("""{"token":"abc"}"""),
    Extras = new JsonPayload(Encoding.UTF8.GetBytes($$$"""{"headers":{"responseId":"r{{{i % channels}}}","sentAt":"{{{1_733_500_000_000 + i}}}"}}""")),
};

var responses = new (string Epoch, long Offset)[channels];
if (tokens)
{
    for (var c = 0; c < channels; c++)
    {
        var created = await log.AppendAsync(keys[c], [MessageNumber(c)], retention);
        responses[c] = (created.Epoch, created.Appended[0].Offset);
    }
}

// The i-th message: a plain publish, or the i-th token appended to its channel's response.
ValueTask<AppendResult> AppendNumber(int i) => tokens
    ? log.AppendMutationAsync(
        keys[i % channels],
        new MessageMutation(responses[i % channels].Epoch, responses[i % channels].Offset, new Message
        {
            Id = $"{connections[i % channels]}:{i / channels}:0",
            ConnectionId = connections[i % channels],
            Action = MessageActions.Append,
            Data = MessageData.FromText(" tok"),
        }, null, MayChangeAny: true),
        retention)
    : log.AppendAsync(keys[i % channels], [MessageNumber(i)], retention);

var before = GC.GetTotalMemory(forceFullCollection: true);
var allocatedBefore = GC.GetTotalAllocatedBytes(precise: true);
for (var i = 0; i < retained; i++)
{
    await AppendNumber(i);
}

var allocated = GC.GetTotalAllocatedBytes(precise: true) - allocatedBefore;
var after = GC.GetTotalMemory(forceFullCollection: true);
Console.WriteLine($"retained {retained:N0} messages: {(after - before) / (double)retained:0} B each; an append allocated {allocated / (double)retained:0} B (the test's message included)");

// Steady state with that history retained: what each ephemeral GC promotes and how long it pauses.
var collections = (GC.CollectionCount(0), GC.CollectionCount(1), GC.CollectionCount(2));
var pausedBefore = GC.GetTotalPauseDuration();
var lastGc = GC.GetGCMemoryInfo(GCKind.Any).Index;
long promoted = 0;
var maxPause = TimeSpan.Zero;
for (var i = retained; i < retained + steady; i++)
{
    await AppendNumber(i);
    var gc = GC.GetGCMemoryInfo(GCKind.Any);
    if (gc.Index != lastGc)
    {
        lastGc = gc.Index;
        promoted += gc.PromotedBytes;
        maxPause = gc.PauseDurations[0] > maxPause ? gc.PauseDurations[0] : maxPause;
    }
}

Console.WriteLine(
    $"{steady:N0} more appends: GCs gen0/1/2 {GC.CollectionCount(0) - collections.Item1}/{GC.CollectionCount(1) - collections.Item2}/{GC.CollectionCount(2) - collections.Item3}, " +
    $"promoted {promoted / (double)steady:0} B per append, paused {(GC.GetTotalPauseDuration() - pausedBefore).TotalMilliseconds:0} ms in all, longest {maxPause.TotalMilliseconds:0.0} ms");

var stopwatch = Stopwatch.StartNew();
GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: false);
Console.WriteLine($"a blocking full GC with it all retained: {stopwatch.Elapsed.TotalMilliseconds:0.0} ms");

// Reading back, warm (the last of three passes): what a resume or history read pays per message.
var read = 0;
for (var pass = 0; pass < 3; pass++)
{
    read = 0;
    stopwatch.Restart();
    foreach (var key in keys)
    {
        var head = await log.GetHeadAsync(key);
        // Every entry is looked at: the in-memory log decodes an entry when it is first read, not in ReadAfter.
        foreach (var entry in (await log.ReadAfterAsync(key, new LogPosition(head.Epoch, 0), 1000)).Entries)
        {
            read += entry.Message.Serial is null ? 0 : 1;
        }
    }
}

Console.WriteLine($"ReadAfter: {stopwatch.Elapsed.TotalMilliseconds * 1000 / read:0.00} us per message ({read:N0} read)");
