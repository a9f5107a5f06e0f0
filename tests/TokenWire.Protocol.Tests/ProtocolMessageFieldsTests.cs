namespace TokenWire.Protocol.Tests;

/// <summary>The fields a publish rarely carries live apart (<see cref="ProtocolMessage"/>): each still reads back what was set, alone and together.</summary>
public sealed class ProtocolMessageFieldsTests
{
    [Fact]
    public void Every_field_reads_back_what_was_set_and_null_after_it_is_cleared()
    {
        var error = new ErrorInfo(40000, 400, "bad");
        var details = new ConnectionDetails { ConnectionKey = "key" };
        IReadOnlyList<Annotation> annotations = [new Annotation()];
        IReadOnlyDictionary<string, string> parameters = new Dictionary<string, string> { ["rewind"] = "1" };
        IReadOnlyList<PublishResult> res = [new PublishResult(["s"])];
        IReadOnlyList<Message> messages = [new Message()];
        IReadOnlyList<PresenceMessage> presence = [new PresenceMessage()];

        // Each field alone on a fresh message (the others stay empty), then all of them on one.
        var setters = new (string Name, Action<ProtocolMessage> Set, Func<ProtocolMessage, object?> Get, object Value)[]
        {
            ("count", m => m.Count = 3, m => m.Count, 3),
            ("error", m => m.Error = error, m => m.Error, error),
            ("id", m => m.Id = "pm-id", m => m.Id, "pm-id"),
            ("channel", m => m.Channel = "chan", m => m.Channel, "chan"),
            ("channelSerial", m => m.ChannelSerial = "cs", m => m.ChannelSerial, "cs"),
            ("connectionId", m => m.ConnectionId = "conn", m => m.ConnectionId, "conn"),
            ("msgSerial", m => m.MsgSerial = 7, m => m.MsgSerial, 7L),
            ("timestamp", m => m.Timestamp = 1234, m => m.Timestamp, 1234L),
            ("messages", m => m.Messages = messages, m => m.Messages, messages),
            ("presence", m => m.Presence = presence, m => m.Presence, presence),
            ("annotations", m => m.Annotations = annotations, m => m.Annotations, annotations),
            ("auth", m => m.AuthAccessToken = "token", m => m.AuthAccessToken, "token"),
            ("connectionDetails", m => m.ConnectionDetails = details, m => m.ConnectionDetails, details),
            ("params", m => m.Params = parameters, m => m.Params, parameters),
            ("res", m => m.Res = res, m => m.Res, res),
        };

        foreach (var (name, set, get, value) in setters)
        {
            var alone = new ProtocolMessage(ProtocolAction.Message);
            set(alone);
            foreach (var (other, _, getOther, _) in setters)
            {
                Assert.True(other == name ? Equals(value, getOther(alone)) : getOther(alone) is null, $"{other} after setting {name}");
            }
        }

        var all = new ProtocolMessage(ProtocolAction.Message);
        foreach (var (_, set, _, _) in setters)
        {
            set(all);
        }

        foreach (var (name, _, get, value) in setters)
        {
            Assert.True(Equals(value, get(all)), name);
        }

        all.Count = null;
        all.Error = null;
        all.Res = null;
        Assert.Null(all.Count);
        Assert.Null(all.Error);
        Assert.Null(all.Res);
        Assert.Equal("pm-id", all.Id);
    }
}
