using System.Globalization;
using TokenWire.Client.Tests.Support;
using TokenWire.Protocol;

namespace TokenWire.Client.Tests;

/// <summary>
/// Connection loss mid-stream (reference §4.8). A TCP proxy between client and server holds back the server's
/// frames (so publishes reach the server but stay unacknowledged and deliveries are lost in transit), then resets
/// the socket. An observer connected directly sees what the server actually accepted.
/// </summary>
[Collection(ServerCollection.Name)]
public sealed class ResumeTests(ServerFixture server)
{
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Killing_the_socket_mid_stream_resumes_the_same_connection_and_loses_nothing(bool binary)
    {
        await using var proxy = new TcpProxy(server.Port);
        var name = Wait.UniqueChannel("resume");

        // The proxied client publishes and subscribes (its own messages come back to it).
        await using var client = new RealtimeClient(server.Options(binary) with { Port = proxy.Port });
        var changes = new List<ConnectionStateChange>();
        client.Connection.StateChanged += (_, change) =>
        {
            lock (changes)
            {
                changes.Add(change);
            }
        };
        var channel = client.Channels.Get(name);
        var echoed = channel.SubscribeAsync();
        await channel.AttachAsync().Within();
        var connectionId = client.Connection.Id;

        await using var observer = new RealtimeClient(server.Options(binary));
        var observed = observer.Channels.Get(name);
        var accepted = observed.SubscribeAsync();
        await observed.AttachAsync().Within();

        // A second publisher keeps the stream flowing towards the proxied client while it is cut off.
        await using var other = new RealtimeClient(server.Options(binary));
        var otherChannel = other.Channels.Get(name);
        await other.ConnectAsync().Within();

        var fromClient = 0;
        var fromOther = 0;
        var publishes = new List<Task<PublishResult>>();
        var otherPublishes = new List<Task<PublishResult>>();
        void Publish(int clientCount, int otherCount)
        {
            for (var i = 0; i < clientCount; i++)
            {
                publishes.Add(channel.PublishAsync("client", Text("c", fromClient++)));
            }

            for (var i = 0; i < otherCount; i++)
            {
                otherPublishes.Add(otherChannel.PublishAsync("other", Text("o", fromOther++)));
            }
        }

        // Before the cut: acknowledged and delivered.
        Publish(100, 0);
        await Task.WhenAll(publishes).Within();
        var received = await echoed.ReadAsync(100);

        // In flight at the cut: the server accepts everything, but the client sees no ACK and no delivery.
        proxy.PauseDownstream();
        var inFlight = publishes.Count;
        Publish(300, 100);
        var seen = await accepted.ReadAsync(100 + 300 + 100, TimeSpan.FromSeconds(60));
        Assert.All(publishes.Skip(inFlight), p => Assert.False(p.IsCompleted));

        Assert.Equal(1, proxy.KillConnections());

        // After the cut: queued while reconnecting, or sent on the resumed transport.
        Publish(100, 100);
        await Task.WhenAll(publishes).Within(TimeSpan.FromSeconds(60));
        await Task.WhenAll(otherPublishes).Within(TimeSpan.FromSeconds(60));
        await client.Connection.WaitForStateAsync(ConnectionState.Connected).Within();

        Assert.Equal(connectionId, client.Connection.Id);
        Assert.Equal(2, proxy.Accepted);
        lock (changes)
        {
            Assert.Contains(changes, c => c.Current == ConnectionState.Disconnected && c.Reason?.Code == ErrorCodes.ConnectionDisconnected);
            Assert.Equal(ConnectionState.Connected, changes[^1].Current);
        }

        // Retransmitted publishes carried their original msgSerials, so the server kept each exactly once.
        seen.AddRange(await accepted.ReadAsync(200, TimeSpan.FromSeconds(60)));
        AssertExactlyOnceInOrder(seen, clientCount: 500, otherCount: 200);
        Assert.Equal(publishes.Select(p => p.Result.Serials[0]), seen.Where(m => m.Name == "client").Select(m => m.Serial));

        // The re-attach with the channelSerial replayed what the client missed: the same stream, once, in order.
        received.AddRange(await echoed.ReadAsync(seen.Count - 100, TimeSpan.FromSeconds(60)));
        Assert.Equal(seen.Select(m => m.Serial), received.Select(m => m.Serial));
        Assert.False(echoed.Reader.TryRead(out var extra), $"unexpected extra message {extra?.GetText()}");
        Assert.Equal(ChannelState.Attached, channel.State);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task After_a_failed_resume_unacknowledged_publishes_are_renumbered_from_zero_on_the_new_connection(bool binary)
    {
        await using var proxy = new TcpProxy(server.Port);
        var name = Wait.UniqueChannel("failed-resume");
        await using var client = new RealtimeClient(server.Options(binary) with { Port = proxy.Port });
        var channel = client.Channels.Get(name);
        await using var observer = new RealtimeClient(server.Options(binary));
        var observed = observer.Channels.Get(name);
        var accepted = observed.SubscribeAsync();
        await observed.AttachAsync().Within();

        await Task.WhenAll(Enumerable.Range(0, 10).Select(i => channel.PublishAsync("m", Text("m", i)))).Within();
        var firstId = client.Connection.Id;

        // Unacknowledged at the cut (msgSerials 10-59); the reconnect's resume key is altered by the proxy, as if the
        // server had lost the connection: CONNECTED comes with a new connectionId and 80018.
        proxy.PauseDownstream();
        proxy.BreakResumeKeys = true;
        var publishes = Enumerable.Range(10, 50).Select(i => channel.PublishAsync("m", Text("m", i))).ToList();
        var originals = await accepted.ReadAsync(60);
        Assert.All(originals.Skip(10), m => Assert.StartsWith(firstId + ":", m.Id, StringComparison.Ordinal));
        proxy.KillConnections();

        await Task.WhenAll(publishes).Within(TimeSpan.FromSeconds(60));
        await client.Connection.WaitForStateAsync(ConnectionState.Connected).Within();
        var newId = client.Connection.Id;
        Assert.NotEqual(firstId, newId);
        Assert.Equal(ErrorCodes.InvalidConnectionKey, client.Connection.ErrorReason?.Code);

        // A new connection cannot be deduplicated against the old one, so the server sees them again (as Ably would),
        // now numbered from 0: ids are newConnectionId:msgSerial:index.
        var resent = await accepted.ReadAsync(50);
        Assert.Equal(Enumerable.Range(0, 50).Select(i => $"{newId}:{i}:0"), resent.Select(m => m.Id));
        Assert.Equal(Enumerable.Range(10, 50).Select(i => Text("m", i)), resent.Select(m => m.GetText()));
    }

    private static string Text(string prefix, int i) => prefix + i.ToString("D5", CultureInfo.InvariantCulture);

    /// <summary>Each publisher's messages appear once each and in publish order (the two publishers interleave).</summary>
    private static void AssertExactlyOnceInOrder(List<Message> messages, int clientCount, int otherCount)
    {
        Assert.Equal(Enumerable.Range(0, clientCount).Select(i => Text("c", i)), messages.Where(m => m.Name == "client").Select(m => m.GetText()));
        Assert.Equal(Enumerable.Range(0, otherCount).Select(i => Text("o", i)), messages.Where(m => m.Name == "other").Select(m => m.GetText()));
        Assert.Equal(clientCount + otherCount, messages.Count);
        for (var i = 1; i < messages.Count; i++)
        {
            Assert.True(string.CompareOrdinal(messages[i - 1].Serial, messages[i].Serial) < 0, "serials ascend");
        }
    }
}
