using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using TokenWire.Server.Configuration;

namespace TokenWire.Agent.Hosting;

/// <summary>
/// Hosts the agent in the server process. Once Kestrel listens, the agent connects to this server through
/// TokenWire.Client over a real WebSocket — exactly what an agent in another process does.
/// </summary>
public sealed partial class InProcessAgentService(
    IServer server,
    IHostApplicationLifetime lifetime,
    IOptions<AgentOptions> agentOptions,
    IOptions<TokenWireOptions> serverOptions,
    ILoggerFactory loggers,
    AgentMetrics metrics) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var options = agentOptions.Value;
        var logger = loggers.CreateLogger<InProcessAgentService>();
        if (!options.Enabled)
        {
            return;
        }

        var started = new TaskCompletionSource();
        using (lifetime.ApplicationStarted.Register(() => started.TrySetResult()))
        {
            await started.Task.WaitAsync(stoppingToken).ContinueWith(static _ => { }, TaskScheduler.Default);
        }

        if (stoppingToken.IsCancellationRequested)
        {
            return;
        }

        var key = AgentConnectionSettings.ResolveKey(options, serverOptions.Value);
        var address = server.Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault();
        if (key is null || address is null)
        {
            AgentNotStarted(logger, key is null ? "no key with full capability is configured (set TokenWire:Agent:Key)" : "the server has no listening address");
            return;
        }

        var model = ChatClientFactory.Create(options);
        AgentStarting(logger, ChatClientFactory.UsesOpenAI(options) ? "an OpenAI-compatible endpoint" : "the simulated model", address);
        var clientOptions = AgentConnectionSettings.ClientOptions(AgentConnectionSettings.ParseAddress(address), key, loggers);
        await AgentRunner.RunAsync(clientOptions, model, options, loggers, stoppingToken, metrics);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "In-process agent using {Model}, connecting to {Address}")]
    private static partial void AgentStarting(ILogger logger, string model, string address);

    [LoggerMessage(Level = LogLevel.Warning, Message = "In-process agent not started: {Reason}")]
    private static partial void AgentNotStarted(ILogger logger, string reason);
}
