using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using TokenWire.AITransport;
using TokenWire.Client;
using TokenWire.Server.Configuration;

namespace TokenWire.Agent.Hosting;

/// <summary>
/// The built-in AI Transport agent's connection: made on first use, to this server's own listening address with the
/// agent key (as <see cref="InProcessAgentService"/> connects), so its publishes go over the wire like any agent's.
/// </summary>
public sealed class InProcessAgentClientProvider(IServer server, IOptions<AgentOptions> agentOptions, IOptions<TokenWireOptions> serverOptions, ILoggerFactory loggers)
    : IAITransportClientProvider, IAsyncDisposable
{
    private readonly object _gate = new();
    private RealtimeClientProvider? _inner;

    public ValueTask<RealtimeClient> GetClientAsync(CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            if (_inner is null)
            {
                var key = AgentConnectionSettings.ResolveKey(agentOptions.Value, serverOptions.Value)
                    ?? throw new AblyException(50003, "No key with full capability is configured for the agent (set TokenWire:Agent:Key)");
                var address = server.Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault()
                    ?? throw new AblyException(50003, "The server has no listening address yet");
                _inner = new RealtimeClientProvider(AgentConnectionSettings.ClientOptions(AgentConnectionSettings.ParseAddress(address), key, loggers));
            }

            return _inner.GetClientAsync(cancellationToken);
        }
    }

    public ValueTask DisposeAsync() => _inner?.DisposeAsync() ?? ValueTask.CompletedTask;
}
