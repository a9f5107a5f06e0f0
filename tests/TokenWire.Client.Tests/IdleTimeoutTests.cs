using TokenWire.Client.Tests.Support;
using TokenWire.Protocol;

namespace TokenWire.Client.Tests;

/// <summary>
/// The idle timer (spec RTN23a, reference §1.5): against a server announcing maxIdleInterval = 1 s, a transport
/// that delivers nothing for maxIdleInterval + RealtimeRequestTimeout is dropped even though its socket is open, and
/// the client resumes on a new one.
/// </summary>
[Collection(ShortIdleServerCollection.Name)]
public sealed class IdleTimeoutTests(ShortIdleServerFixture server)
{
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_silent_transport_is_dropped_after_maxIdleInterval_plus_the_request_timeout_and_resumed(bool binary)
    {
        await using var proxy = new TcpProxy(server.Port);
        await using var client = new RealtimeClient(server.Options(binary) with { Port = proxy.Port, RealtimeRequestTimeout = TimeSpan.FromSeconds(1) });
        var changes = new List<ConnectionStateChange>();
        client.Connection.StateChanged += (_, change) =>
        {
            lock (changes)
            {
                changes.Add(change);
            }
        };
        await client.ConnectAsync().Within();
        Assert.Equal(1000, client.Connection.Details!.MaxIdleInterval);
        var id = client.Connection.Id;
        var channel = client.Channels.Get(Wait.UniqueChannel("idle"));
        var subscription = channel.SubscribeAsync();
        // The short request timeout this test needs for its idle bound also bounds the attach, which a busy box can
        // exceed: the attach is only the setup here, so it is retried.
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await channel.AttachAsync().Within();
                break;
            }
            catch (AblyException ex) when (ex.Code == 90007 && attempt < 5)
            {
            }
        }

        // Server heartbeats keep a quiet connection alive; swallowing them makes the transport look dead.
        proxy.PauseDownstream();
        var publish = channel.PublishAsync("m", "sent while the server looks silent");
        await Wait.Eventually("the idle timer drops the transport", () => client.Connection.State != ConnectionState.Connected);
        proxy.ResumeDownstream();

        await client.Connection.WaitForStateAsync(ConnectionState.Connected).Within();
        await publish.Within();
        Assert.Equal(id, client.Connection.Id);
        Assert.Equal("sent while the server looks silent", Assert.Single(await subscription.ReadAsync(1)).GetText());
        lock (changes)
        {
            var disconnected = changes.First(c => c.Current == ConnectionState.Disconnected);
            Assert.Equal(ErrorCodes.ConnectionDisconnected, disconnected.Reason?.Code);
            Assert.Equal(408, disconnected.Reason?.StatusCode);
            Assert.Equal(TimeSpan.Zero, disconnected.RetryIn);
        }
    }
}
