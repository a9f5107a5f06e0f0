using System.Text;

namespace TokenWire.Protocol.Tests.Support;

/// <summary>
/// What each captured ably-js client frame must decode to, in either wire format (Frames/README.md describes each
/// call). Binary data is compared as bytes: the JSON transport's base64 layer must already be stripped.
/// </summary>
internal static class ClientFrameExpectations
{
    private const ProtocolFlags PublishSubscribePresence = ProtocolFlags.Publish | ProtocolFlags.Subscribe | ProtocolFlags.Presence;

    public static void AssertKeyFields(string name, ProtocolMessage pm)
    {
        switch (name)
        {
            case "01-attach":
                AssertAttach(pm, "chan1", ProtocolFlags.None, channelSerial: null);
                break;
            case "02-attach-params-modes":
                AssertAttach(pm, "chan2", PublishSubscribePresence, channelSerial: null, ("rewind", "1"));
                Assert.Equal(458752, (int)pm.Flags);
                break;
            case "03-publish-string":
                AssertPublish(pm, "chan1", 0, Text("greeting", "Hello"));
                break;
            case "04-publish-json-extras":
                AssertPublish(pm, "chan1", 1, Text("token", """{"token":"Hel"}""", encoding: "json", extras: """{"headers":{"responseId":"r1"}}"""));
                break;
            case "05-publish-binary-buffer":
                AssertPublish(pm, "chan1", 2, Bytes("bin", [0x00, 0x01, 0x02, 0xfd, 0xfe, 0xff]));
                break;
            case "06-publish-binary-uint8array":
                AssertPublish(pm, "chan1", 3, Bytes("u8", [0xde, 0xad, 0xbe, 0xef]));
                break;
            case "07-publish-batch":
                AssertPublish(
                    pm,
                    "chan1",
                    4,
                    Text("a", "one"),
                    Text("b", """{"n":2}""", encoding: "json"),
                    Bytes("c", "hi"u8.ToArray()),
                    Text(null, "no-name"));
                break;
            case "08-publish-long-string":
                AssertPublish(pm, "chan1", 5, Text("long", new string('x', 300)));
                break;
            case "09-publish-unicode-string":
                AssertPublish(pm, "chan1", 6, Text("utf8", "h\u00e9llo \u2713 \U0001F600"));
                Assert.Equal(15, Encoding.UTF8.GetByteCount(pm.Messages![0].Data.Text!));
                break;
            case "10-publish-id-clientid":
                AssertPublish(pm, "chan1", 7, Text("explicit", "x") with { Id = "client-msg-id-1", ClientId = "bob" });
                break;
            case "11-publish-params":
                AssertPublish(pm, "chan1", 8, Text("p", "v"));
                AssertParams(pm, ("quickAck", "true"), ("ttl", "5"));
                break;
            case "12-ping":
                Assert.Equal(ProtocolAction.Heartbeat, pm.Action);
                Assert.NotNull(pm.Id);
                Assert.Matches("^[0-9]{10,20}$", pm.Id);
                Assert.Null(pm.Channel);
                Assert.Null(pm.Messages);
                break;
            case "13-resume-reattach-chan1":
                AssertAttach(pm, "chan1", ProtocolFlags.None, channelSerial: "ser:1");
                break;
            case "14-resume-reattach-chan2":
                AssertAttach(pm, "chan2", PublishSubscribePresence, channelSerial: "ser:1", ("rewind", "1"));
                break;
            case "15-detach":
                Assert.Equal(ProtocolAction.Detach, pm.Action);
                Assert.Equal("chan2", pm.Channel);
                break;
            case "16-close":
            case "22-close-identified-client":
                Assert.Equal(ProtocolAction.Close, pm.Action);
                Assert.Null(pm.Channel);
                Assert.Null(pm.MsgSerial);
                break;
            case "17-presence-implicit-attach":
                AssertAttach(pm, "room", ProtocolFlags.None, channelSerial: null);
                break;
            case "18-presence-enter":
                AssertPresence(pm, 0, """{"data":"{\"status\":\"here\"}","action":2,"encoding":"json"}""");
                break;
            case "19-presence-update-string":
                AssertPresence(pm, 1, """{"data":"busy","action":4}""");
                break;
            case "20-presence-leave":
                AssertPresence(pm, 2, """{"action":3}""");
                break;
            case "21-publish-identified-client":
                AssertPublish(pm, "room", 3, Text("hi", "from alice"));
                break;
            default:
                Assert.Fail($"No expectations written for captured frame '{name}': add them here");
                break;
        }
    }

    private static void AssertAttach(ProtocolMessage pm, string channel, ProtocolFlags flags, string? channelSerial, params (string Key, string Value)[] parameters)
    {
        Assert.Equal(ProtocolAction.Attach, pm.Action);
        Assert.Equal(channel, pm.Channel);
        Assert.Equal(flags, pm.Flags);
        Assert.Equal(channelSerial, pm.ChannelSerial);
        Assert.Null(pm.MsgSerial);
        AssertParams(pm, parameters);
    }

    private static void AssertParams(ProtocolMessage pm, params (string Key, string Value)[] parameters)
    {
        if (parameters.Length == 0)
        {
            Assert.True(pm.Params is null or { Count: 0 }, "expected no params");
            return;
        }

        Assert.NotNull(pm.Params);
        Assert.Equal(
            parameters.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => $"{p.Key}={p.Value}"),
            pm.Params.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => $"{p.Key}={p.Value}"));
    }

    private static void AssertPublish(ProtocolMessage pm, string channel, long msgSerial, params ExpectedMessage[] expected)
    {
        Assert.Equal(ProtocolAction.Message, pm.Action);
        Assert.Equal(channel, pm.Channel);
        Assert.Equal(msgSerial, pm.MsgSerial);
        Assert.Null(pm.Id);
        Assert.Null(pm.ConnectionId);
        Assert.NotNull(pm.Messages);
        Assert.Equal(expected.Length, pm.Messages.Count);
        for (var i = 0; i < expected.Length; i++)
        {
            var e = expected[i];
            var m = pm.Messages[i];
            Assert.Equal(e.Id, m.Id);
            Assert.Equal(e.ClientId, m.ClientId);
            Assert.Equal(e.Name, m.Name);
            Assert.Equal(ProtocolAssert.DumpData(e.Data), ProtocolAssert.DumpData(m.Data));
            Assert.Equal(e.Encoding, m.Encoding);
            Assert.Equal(0, m.Action);
            if (e.Extras is null)
            {
                Assert.Null(m.Extras);
            }
            else
            {
                Assert.NotNull(m.Extras);
                ProtocolAssert.JsonEquivalent(e.Extras, m.Extras.ToString());
            }

            Assert.Null(m.Serial);
            Assert.Null(m.Timestamp);
        }
    }

    private static void AssertPresence(ProtocolMessage pm, long msgSerial, string presenceJson)
    {
        Assert.Equal(ProtocolAction.Presence, pm.Action);
        Assert.Equal("room", pm.Channel);
        Assert.Equal(msgSerial, pm.MsgSerial);
        Assert.Null(pm.Messages);
        Assert.NotNull(pm.Presence);
        var item = Assert.Single(pm.Presence);
        ProtocolAssert.JsonEquivalent(presenceJson, ProtocolAssert.PresenceJson(item));
    }

    private static ExpectedMessage Text(string? name, string text, string? encoding = null, string? extras = null) =>
        new(name, MessageData.FromText(text), encoding, extras);

    private static ExpectedMessage Bytes(string name, byte[] bytes) => new(name, MessageData.FromBytes(bytes), null, null);

    private sealed record ExpectedMessage(string? Name, MessageData Data, string? Encoding, string? Extras)
    {
        public string? Id { get; init; }

        public string? ClientId { get; init; }
    }
}
