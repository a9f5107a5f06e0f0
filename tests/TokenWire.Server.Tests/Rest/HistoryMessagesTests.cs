using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using TokenWire.Protocol;
using TokenWire.Protocol.Serials;
using TokenWire.Server.Engine;
using TokenWire.Server.Log;
using TokenWire.Server.Tests.Support;
using TokenWire.Server.Rest;

namespace TokenWire.Server.Tests.Rest;

/// <summary>
/// A history page written from the log's stored bytes must be, byte for byte, the body the REST API wrote when it
/// decoded every entry and encoded the messages (<see cref="RestResponses.WriteMessagesAsync"/>), in both formats, with
/// and without the envelope, for every query shape, and with folded mutable messages and summaries among them; and it
/// must count the same size. Randomised logs with fixed seeds, so a failure names the seed and the page.
/// </summary>
public sealed class HistoryMessagesTests
{
    private static readonly DateTimeOffset Start = new(2026, 12, 7, 6, 0, 0, TimeSpan.Zero);

    public static TheoryData<int> Seeds => new() { 1101, 1102, 1103, 1104 };

    [Theory]
    [MemberData(nameof(Seeds))]
    public async Task Pages_written_from_stored_bytes_are_the_pages_written_from_decoded_messages(int seed)
    {
        var random = new Random(seed);
        var (log, epoch, last) = RandomLog(random);
        var checkedPages = 0;
        for (var q = 0; q < 40; q++)
        {
            var query = RandomQuery(random, epoch, last);
            for (var page = 0; page < 1_000; page++)
            {
                var read = log.ReadHistory(query);
                Assert.True(read.Entries.Count == 0 || read.Entries is IStoredEntries);
                JsonPayload?[]? summaries = random.Next(3) == 0 ? RandomSummaries(random, read.Entries.Count) : null;
                var messages = new HistoryMessages(read.Entries, summaries);
                var decoded = Decoded(read.Entries, summaries);

                Assert.Equal(decoded.Sum(m => (long)m.Size), messages.Size());
                foreach (var (accept, envelope) in new[] { ("application/x-msgpack", ""), ("application/json", ""), ("application/json", "json"), ("application/x-msgpack", "msgpack") })
                {
                    var expected = await BodyAsync(accept, envelope, context => RestResponses.WriteMessagesAsync(context, decoded));
                    var actual = await BodyAsync(accept, envelope, context => RestResponses.WriteHistoryAsync(context, messages));
                    if (!actual.AsSpan().SequenceEqual(expected))
                    {
                        Assert.Fail($"seed {seed}, query {q} ({query}), page {page}, {accept} envelope '{envelope}':\nexpected {Show(expected)}\nactual   {Show(actual)}");
                    }
                }

                checkedPages++;
                if (read.Next is not { } next)
                {
                    break;
                }

                query = query with { Cursor = next };
            }
        }

        Assert.True(checkedPages >= 40);
    }

    [Fact]
    public void A_page_given_as_stored_is_counted_and_written_without_its_messages_being_read()
    {
        var (log, _, _) = RandomLog(new Random(1), mutations: false);
        var page = log.ReadHistory(new HistoryQuery(null, null, Forwards: false, Limit: 100, null, null));
        var messages = new HistoryMessages(new UnreadableEntries(page.Entries), summaries: null);

        var size = messages.Size();
        var output = new System.Buffers.ArrayBufferWriter<byte>();
        messages.WriteMessagePack(output);
        using (var writer = new Utf8JsonWriter(output))
        {
            messages.WriteJson(writer);
        }

        Assert.Equal(page.Entries.Sum(e => (long)e.Message.Size), size);
    }

    private static (InMemoryChannelLog Log, string Epoch, long Last) RandomLog(Random random, bool mutations = true)
    {
        var epoch = LogPosition.NewEpoch(Start);
        var log = new InMemoryChannelLog(epoch);
        var retention = new ChannelRetention(TimeSpan.FromDays(1), 10_000, TimeSpan.FromMinutes(2));
        var now = Start;
        var originals = new List<long>();
        var count = random.Next(50, 400);
        for (var i = 0; i < count; i++)
        {
            now = now.AddMilliseconds(random.Next(0, 3));
            if (mutations && originals.Count > 0 && random.Next(5) == 0)
            {
                var operation = new Message
                {
                    Action = random.Next(3) switch { 0 => MessageActions.Update, 1 => MessageActions.Delete, _ => MessageActions.Append },
                    Data = MessageData.FromText(RandomString(random)),
                    Name = random.Next(3) == 0 ? RandomString(random) : null,
                    Extras = random.Next(3) == 0 ? RandomExtras(random) : null,
                };
                try
                {
                    log.AppendMutation(new MessageMutation(epoch, originals[random.Next(originals.Count)], operation, null, MayChangeAny: true), retention, now, null);
                }
                catch (ProtocolException)
                {
                    // An append to a message whose data is not text: refused, as it should be.
                }

                continue;
            }

            var batch = Enumerable.Range(0, random.Next(1, 4)).Select(_ => RandomMessage(random)).ToList();
            var appended = log.Append(batch, retention, now, null);
            originals.AddRange(appended.Appended.Select(e => e.Offset));
        }

        return (log, epoch, log.Head.Offset);
    }

    private static HistoryQuery RandomQuery(Random random, string epoch, long last)
    {
        var startMs = Start.ToUnixTimeMilliseconds();
        long? from = random.Next(4) == 0 ? startMs + random.Next(0, 300) : null;
        long? to = random.Next(4) == 0 ? startMs + random.Next(0, 600) : null;
        LogPosition? until = random.Next(3) == 0 ? new LogPosition(epoch, random.NextInt64(0, last + 2)) : null;
        return new HistoryQuery(from, to, Forwards: random.Next(2) == 0, Limit: random.Next(4) == 0 ? random.Next(1, 5) : random.Next(1, 200), until, null);
    }

    private static List<Message> Decoded(IReadOnlyList<LogEntry> entries, JsonPayload?[]? summaries) =>
        entries.Select((e, i) =>
        {
            if (summaries?[i] is not { } summary)
            {
                return e.Message;
            }

            var summarised = e.Message.Clone();
            summarised.Annotations = summary;
            return summarised;
        }).ToList();

    private static JsonPayload?[] RandomSummaries(Random random, int count) =>
        Enumerable.Range(0, count).Select(_ => random.Next(4) == 0
            ? new JsonPayload(Encoding.UTF8.GetBytes("""{"reaction:distinct.v1":{"👍":{"total":""" + random.Next(1, 9) + ""","clientIds":["a\"b"],"clipped":false}}}"""))
            : null).ToArray();

    private static async Task<byte[]> BodyAsync(string accept, string envelope, Func<HttpContext, Task> write)
    {
        var context = new DefaultHttpContext();
        context.Request.Headers.Accept = accept;
        if (envelope.Length > 0)
        {
            context.Request.QueryString = new QueryString("?envelope=" + envelope);
        }

        context.Response.Headers.Link = "<./messages?limit=5>; rel=\"next\"";
        using var body = new MemoryStream();
        context.Response.Body = body;
        await write(context);
        return body.ToArray();
    }

    private static string Show(byte[] body)
    {
        var text = body.Length > 0 && body[0] is (byte)'[' or (byte)'{' ? Encoding.UTF8.GetString(body) : Convert.ToHexString(body);
        return text.Length > 4_000 ? text[..4_000] + "…" : text;
    }

    private static Message RandomMessage(Random random)
    {
        var message = new Message
        {
            Id = random.Next(2) == 0 ? Guid.NewGuid().ToString("N") + ":" + random.Next(9) : null,
            Name = random.Next(4) == 0 ? null : RandomString(random),
            ClientId = random.Next(3) == 0 ? null : RandomString(random),
            ConnectionId = random.Next(3) == 0 ? null : "conn-" + random.Next(100),
            Extras = random.Next(3) == 0 ? null : RandomExtras(random),
            Encoding = random.Next(6) switch { 0 => "json", 1 => "utf-8", 2 => "utf-8/base64", _ => null },
        };
        message.Data = random.Next(5) switch
        {
            0 => MessageData.None,
            1 => MessageData.FromBytes(RandomBytes(random)),
            2 when message.Encoding == "utf-8/base64" => MessageData.FromText(Convert.ToBase64String(RandomBytes(random))),
            _ => MessageData.FromText(RandomString(random)),
        };
        if (message.Data.IsText && message.Encoding == "utf-8/base64")
        {
            message.Data = MessageData.FromText(Convert.ToBase64String(RandomBytes(random)));
        }

        return message;
    }

    private static JsonPayload RandomExtras(Random random) => new(Encoding.UTF8.GetBytes(random.Next(5) switch
    {
        0 => $$$"""{"headers":{"responseId":"resp-{{{random.Next(100)}}}","index":{{{random.Next(-5, 5000)}}}}}""",
        1 => """{"headers":{"note":"a\"b\\c\n\u0001 <é日本😀>"},"f":1.5,"g":1.0,"big":18446744073709551615}""",
        2 => """{"ai.transport":{"parent":null,"ok":true,"list":[1,-9223372036854775808,"x",{}]}}""",
        3 => $$$"""{"headers":{"responseId":"{{{JsonEncodedText.Encode(RandomString(random, loneSurrogate: false))}}}"}}""",
        _ => "{}",
    }));

    private static byte[] RandomBytes(Random random)
    {
        var bytes = new byte[random.Next(0, 40)];
        random.NextBytes(bytes);
        return bytes;
    }

    private static string RandomString(Random random, bool loneSurrogate = true)
    {
        string[] pieces = ["t", "token ", "\"", "\\", "\n", "\u0001", "é", "日本", "😀", loneSurrogate ? "\ud800" : "x", "<>&'", "\u2028", " "];
        var builder = new StringBuilder();
        for (var i = random.Next(0, 10); i > 0; i--)
        {
            builder.Append(pieces[random.Next(pieces.Length)]);
        }

        return builder.ToString();
    }
}
