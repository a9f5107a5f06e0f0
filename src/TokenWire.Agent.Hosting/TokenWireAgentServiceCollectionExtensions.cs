using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using TokenWire.Agent.Simulation;
using TokenWire.AITransport;

namespace TokenWire.Agent.Hosting;

public static class TokenWireAgentServiceCollectionExtensions
{
    /// <summary>
    /// Binds <see cref="AgentOptions"/> to <c>TokenWire:Agent</c> (used by <c>POST /agent/prompts</c>) and hosts the
    /// agent in this process unless <see cref="AgentOptions.Enabled"/> is false, and registers the AI Transport agent
    /// that <c>POST /agent/chat</c> uses (<see cref="AITransportAgent"/>). Call after <c>AddTokenWire</c>.
    /// </summary>
    public static IServiceCollection AddTokenWireAgent(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        services.AddOptions<AgentOptions>().Bind(configuration.GetSection(AgentOptions.SectionName));
        services.AddMetrics();
        services.AddSingleton(sp => new AgentMetrics(sp.GetService<System.Diagnostics.Metrics.IMeterFactory>()));
        services.AddHostedService<InProcessAgentService>();

        // The AI Transport agent behind POST /agent/chat: the configured model, with the demo tools it may call (one
        // run here, one the browser answers, one that waits for the user's approval).
        services.AddSingleton<InProcessAgentClientProvider>();
        services.AddSingleton(sp => new AITransportAgent(
            sp.GetRequiredService<InProcessAgentClientProvider>(),
            new ChatClientBuilder(ChatClientFactory.Create(sp.GetRequiredService<IOptions<AgentOptions>>().Value)).UseFunctionInvocation().Build(sp),
            Options.Create(new AITransportAgentOptions { ChatOptions = new ChatOptions { Tools = [SimulatedTools.Weather, SimulatedTools.Location, SimulatedTools.Booking] } }),
            sp.GetService<ILogger<AITransportAgent>>(),
            sp.GetService<System.Diagnostics.Metrics.IMeterFactory>()));
        return services;
    }
}
