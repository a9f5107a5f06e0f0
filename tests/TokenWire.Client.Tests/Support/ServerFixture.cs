using TokenWire.Client;
using TokenWire.Testing;

namespace TokenWire.Client.Tests.Support;

/// <summary>A real server process (<see cref="ServerProcess"/>), started once per collection, and client options for it.</summary>
public class ServerFixture : IAsyncLifetime
{
    public const string RootKey = ServerProcess.RootKey;
    public const string SubscribeOnlyKey = ServerProcess.SubscribeOnlyKey;

    private ServerProcess? _server;

    public string Host => Server.Host;

    public int Port => Server.Port;

    /// <summary>The last lines the server wrote, for failure messages.</summary>
    public string OutputTail => Server.OutputTail;

    /// <summary>Extra command-line configuration for the server (<c>--TokenWire:Section:Key=value</c>).</summary>
    protected virtual IEnumerable<string> ExtraArguments => [];

    private ServerProcess Server => _server ?? throw new InvalidOperationException("The server has not started");

    /// <summary>Client options for this server: plain HTTP/WS on loopback with the root key.</summary>
    public RealtimeClientOptions Options(bool binary, string key = RootKey) => RealtimeClientOptions.Default with
    {
        Key = key,
        Endpoint = Host,
        Port = Port,
        Tls = false,
        UseBinaryProtocol = binary,

        // Failed attempts against a local server are retried quickly; timing is never asserted.
        DisconnectedRetryTimeout = TimeSpan.FromSeconds(1),
    };

    public async Task InitializeAsync() => _server = await ServerProcess.StartAsync(ExtraArguments);

    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }
}

[CollectionDefinition(Name)]
public sealed class ServerCollection : ICollectionFixture<ServerFixture>
{
    public const string Name = "tokenwire-server";
}

/// <summary>A server announcing maxIdleInterval = 1 s (heartbeats every 0.5 s), so idle-timeout tests run in seconds.</summary>
public sealed class ShortIdleServerFixture : ServerFixture
{
    protected override IEnumerable<string> ExtraArguments => ["--TokenWire:Connection:MaxIdleInterval=00:00:01"];
}

[CollectionDefinition(Name)]
public sealed class ShortIdleServerCollection : ICollectionFixture<ShortIdleServerFixture>
{
    public const string Name = "tokenwire-server-short-idle";
}
