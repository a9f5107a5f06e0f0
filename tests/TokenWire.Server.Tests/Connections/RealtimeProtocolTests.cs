using TokenWire.Protocol;

namespace TokenWire.Server.Tests.Connections;

/// <summary>
/// The realtime protocol at the frame level, against the server in this process (<see cref="InProcessServer"/>) over a
/// raw socket that records every frame (<see cref="RawRealtimeSocket"/>): what is sent, in what order.
/// </summary>
public sealed class RealtimeProtocolTests : IAsyncLifetime
{
    /// <summary>Small, so a too-large message is cheap to make.</summary>
    private const int MaxMessageSize = 2048;

    private static readonly string RootKey = Uri.EscapeDataString(InProcessServer.RootKey);

    private InProcessServer _server = null!;

    public async Task InitializeAsync() =>
        _server = await InProcessServer.StartAsync(new Dictionary<string, string?> { ["TokenWire:Limits:MaxMessageSize"] = MaxMessageSize.ToString(System.Globalization.CultureInfo.InvariantCulture) });

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Theory]
    [InlineData("json")]
    [InlineData("msgpack")]
    public async Task The_first_frame_is_CONNECTED_with_the_connection_details(string format)
    {
        await using var socket = await _server.ConnectAsync($"key={RootKey}&format={format}&v=6");

        var connected = await socket.WaitForAsync(ProtocolAction.Connected);

        Assert.Same(connected, socket.Frames[0]);
        Assert.False(string.IsNullOrEmpty(connected.ConnectionId));
        Assert.False(string.IsNullOrEmpty(connected.ConnectionDetails?.ConnectionKey));
        Assert.Equal(MaxMessageSize, connected.ConnectionDetails!.MaxMessageSize);
    }

    [Theory]
    [InlineData("json")]
    [InlineData("msgpack")]
    public async Task ATTACHED_comes_before_any_message_of_the_channel_and_pipelined_publishes_are_acknowledged_in_msgSerial_order(string format)
    {
        var channel = Wait.UniqueChannel("order");
        await using var socket = await Connected($"key={RootKey}&format={format}&v=6");

        await socket.SendAsync(new ProtocolMessage(ProtocolAction.Attach) { Channel = channel });
        for (var i = 0; i < 5; i++)
        {
            await socket.SendAsync(Publish(channel, i, $"m{i}"));
        }

        await socket.WaitForAsync(_ => socket.Frames.SelectMany(Acknowledged).Count() == 5 && Delivered(socket, channel).Count() == 5, "five ACKs and five deliveries");
        var frames = socket.Frames.ToList();
        var attached = frames.FindIndex(f => f.Action == ProtocolAction.Attached && f.Channel == channel);
        Assert.True(attached >= 0 && attached < frames.FindIndex(f => f.Action == ProtocolAction.Message), "ATTACHED before the first MESSAGE");
        Assert.Equal([0L, 1, 2, 3, 4], frames.SelectMany(Acknowledged));
        Assert.Equal(["m0", "m1", "m2", "m3", "m4"], Delivered(socket, channel).Select(m => m.Name));
    }

    [Fact]
    public async Task A_rejected_publish_is_NACKed_in_its_place_between_the_ACKs_of_its_neighbours()
    {
        var channel = Wait.UniqueChannel("nack");
        await using var socket = await Connected($"key={RootKey}&format=json&v=6");
        await socket.SendAsync(new ProtocolMessage(ProtocolAction.Attach) { Channel = channel });
        await socket.WaitForAsync(ProtocolAction.Attached, channel);

        await socket.SendAsync(Publish(channel, 0, "fits"));
        await socket.SendAsync(Publish(channel, 1, new string('x', MaxMessageSize + 1)));
        await socket.SendAsync(Publish(channel, 2, "fits too"));

        await socket.WaitForAsync(f => f.Action == ProtocolAction.Ack && f.MsgSerial == 2, "the ACK of msgSerial 2");
        var outcomes = socket.Frames.Where(f => f.Action is ProtocolAction.Ack or ProtocolAction.Nack).ToList();
        Assert.Equal([(ProtocolAction.Ack, 0L), (ProtocolAction.Nack, 1L), (ProtocolAction.Ack, 2L)], outcomes.Select(f => (f.Action, f.MsgSerial!.Value)));
        Assert.Equal(ErrorCodes.MessageTooLarge, outcomes[1].Error?.Code);
    }

    [Theory]
    [InlineData("json")]
    [InlineData("msgpack")]
    public async Task Answers_written_at_once_or_queued_behind_deliveries_keep_msgSerial_order_with_NACKs_in_place(string format)
    {
        // Attached to its own channel, the publisher is sent each message it publishes: its ACKs are written directly
        // while its egress is idle and queued behind deliveries while it is not, both in one stream of answers.
        var channel = Wait.UniqueChannel("answers");
        await using var socket = await Connected($"key={RootKey}&format={format}&v=6");
        await socket.SendAsync(new ProtocolMessage(ProtocolAction.Attach) { Channel = channel });
        await socket.WaitForAsync(ProtocolAction.Attached, channel);

        const int Count = 200;
        for (var i = 0; i < Count; i++)
        {
            await socket.SendAsync(Publish(channel, i, i % 7 == 3 ? new string('x', MaxMessageSize + 1) : $"m{i}"));
        }

        await socket.WaitForAsync(f => f.MsgSerial == Count - 1 && f.Action is ProtocolAction.Ack or ProtocolAction.Nack, "the answer to the last publish");
        var answers = socket.Frames.Where(f => f.Action is ProtocolAction.Ack or ProtocolAction.Nack).ToList();
        Assert.Equal(Enumerable.Range(0, Count).Select(i => (i % 7 == 3 ? ProtocolAction.Nack : ProtocolAction.Ack, (long)i)), answers.Select(f => (f.Action, f.MsgSerial!.Value)));
        var published = Enumerable.Range(0, Count).Where(i => i % 7 != 3).Select(i => $"m{i}").ToList();
        await socket.WaitForAsync(_ => Delivered(socket, channel).Count() == published.Count, "every accepted message delivered");
        Assert.Equal(published, Delivered(socket, channel).Select(m => m.Name));
    }

    [Fact]
    public async Task A_subscribe_only_key_is_NACKed_40160_and_stays_connected()
    {
        var channel = Wait.UniqueChannel("denied");
        await using var socket = await Connected($"key={Uri.EscapeDataString(InProcessServer.SubscribeOnlyKey)}&format=json&v=6");
        await socket.SendAsync(new ProtocolMessage(ProtocolAction.Attach) { Channel = channel });
        await socket.WaitForAsync(ProtocolAction.Attached, channel);

        await socket.SendAsync(Publish(channel, 0, "not allowed"));

        var nack = await socket.WaitForAsync(ProtocolAction.Nack);
        Assert.Equal((0L, ErrorCodes.OperationNotPermitted), (nack.MsgSerial!.Value, nack.Error!.Code));
        await socket.SendAsync(new ProtocolMessage(ProtocolAction.Heartbeat) { Id = "still-there" });
        await socket.WaitForAsync(f => f.Action == ProtocolAction.Heartbeat && f.Id == "still-there", "the heartbeat answered");
    }

    [Fact]
    public async Task Echo_false_keeps_a_connections_own_messages_from_it_but_not_anothers()
    {
        var channel = Wait.UniqueChannel("echo");
        await using var quiet = await Connected($"key={RootKey}&format=json&echo=false&v=6");
        await using var other = await Connected($"key={RootKey}&format=msgpack&v=6");
        foreach (var socket in new[] { quiet, other })
        {
            await socket.SendAsync(new ProtocolMessage(ProtocolAction.Attach) { Channel = channel });
            await socket.WaitForAsync(ProtocolAction.Attached, channel);
        }

        await quiet.SendAsync(Publish(channel, 0, "own"));
        await quiet.WaitForAsync(ProtocolAction.Ack);
        await other.SendAsync(Publish(channel, 0, "theirs"));

        await other.WaitForAsync(_ => Delivered(other, channel).Count() == 2, "both messages reach the other connection");
        await quiet.WaitForAsync(_ => Delivered(quiet, channel).Any(), "the other's message reaches the quiet connection");
        Assert.Equal(["theirs"], Delivered(quiet, channel).Select(m => m.Name));
    }

    [Fact]
    public async Task DETACH_is_answered_DETACHED_on_the_channel()
    {
        var channel = Wait.UniqueChannel("detach");
        await using var socket = await Connected($"key={RootKey}&format=json&v=6");
        await socket.SendAsync(new ProtocolMessage(ProtocolAction.Attach) { Channel = channel });
        await socket.WaitForAsync(ProtocolAction.Attached, channel);

        await socket.SendAsync(new ProtocolMessage(ProtocolAction.Detach) { Channel = channel });

        await socket.WaitForAsync(ProtocolAction.Detached, channel);
    }

    [Fact]
    public async Task An_attachment_that_only_subscribes_to_annotations_resumed_on_a_new_connection_gets_the_raw_annotations_it_missed_once()
    {
        var channel = "mutable:" + Wait.UniqueChannel("annotations-only");
        await using var publisher = await Connected($"key={RootKey}&format=json&v=6");
        await publisher.SendAsync(new ProtocolMessage(ProtocolAction.Attach) { Channel = channel });
        await publisher.WaitForAsync(ProtocolAction.Attached, channel);
        await publisher.SendAsync(Publish(channel, 0, "m1"));
        var serial = (await publisher.WaitForAsync(f => f.Action == ProtocolAction.Message && f.Channel == channel, "m1 delivered")).Messages![0].Serial!;
        var msgSerial = 1L;
        async Task Annotate(string type)
        {
            var sent = msgSerial++;
            await publisher.SendAsync(new ProtocolMessage(ProtocolAction.Annotation)
            {
                Channel = channel,
                MsgSerial = sent,
                Annotations = [new Annotation { Action = AnnotationActions.Create, MessageSerial = serial, Type = type }],
            });
            await publisher.WaitForAsync(f => f.Action == ProtocolAction.Ack && f.MsgSerial <= sent && sent < f.MsgSerial + (f.Count ?? 1), $"the ACK of msgSerial {sent}");
        }

        var attach = new ProtocolMessage(ProtocolAction.Attach) { Channel = channel, Flags = ProtocolFlags.AnnotationSubscribe };
        string resumeFrom;
        await using (var before = await Connected($"key={RootKey}&format=json&v=6"))
        {
            await before.SendAsync(attach);
            await before.WaitForAsync(ProtocolAction.Attached, channel);
            await Annotate("seen:total.v1");
            resumeFrom = (await before.WaitForAsync(ProtocolAction.Annotation, channel)).ChannelSerial!;
        }

        await Annotate("missed-1:total.v1");
        await Annotate("missed-2:total.v1");
        await using var after = await Connected($"key={RootKey}&format=msgpack&v=6");
        attach.ChannelSerial = resumeFrom;
        await after.SendAsync(attach);
        var attached = await after.WaitForAsync(ProtocolAction.Attached, channel);
        Assert.True(attached.HasFlag(ProtocolFlags.Resumed));
        await Annotate("live:total.v1");

        await after.WaitForAsync(_ => Types(after).Count() == 3, "three annotations after the resume");
        await Annotate("barrier:total.v1");
        await after.WaitForAsync(_ => Types(after).Contains("barrier:total.v1"), "the barrier annotation");
        Assert.Equal(["missed-1:total.v1", "missed-2:total.v1", "live:total.v1", "barrier:total.v1"], Types(after));
        Assert.DoesNotContain(after.Frames, f => f.Action == ProtocolAction.Message);

        IEnumerable<string> Types(RawRealtimeSocket socket) =>
            socket.Frames.Where(f => f.Action == ProtocolAction.Annotation && f.Channel == channel).SelectMany(f => f.Annotations!).Select(a => a.Type!);
    }

    private async Task<RawRealtimeSocket> Connected(string query)
    {
        var socket = await _server.ConnectAsync(query);
        await socket.WaitForAsync(ProtocolAction.Connected);
        return socket;
    }

    private static ProtocolMessage Publish(string channel, long msgSerial, string name) => new(ProtocolAction.Message)
    {
        Channel = channel,
        MsgSerial = msgSerial,
        Messages = [new Message { Name = name, Data = MessageData.FromText(name) }],
    };

    /// <summary>The msgSerials an ACK frame covers.</summary>
    private static IEnumerable<long> Acknowledged(ProtocolMessage frame) =>
        frame.Action == ProtocolAction.Ack ? Enumerable.Range(0, frame.Count ?? 1).Select(i => frame.MsgSerial!.Value + i) : [];

    private static IEnumerable<Message> Delivered(RawRealtimeSocket socket, string channel) =>
        socket.Frames.Where(f => f.Action == ProtocolAction.Message && f.Channel == channel).SelectMany(f => f.Messages ?? []);
}
