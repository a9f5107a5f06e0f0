using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace TokenWire.Agent.Hosting;

public static class TokenWireAgentServiceCollectionExtensions
{
    /// <summary>
    /// Binds <see cref="AgentOptions"/> to <c>TokenWire:Agent</c> (used by <c>POST /agent/prompts</c>) and hosts the
    /// agent in this process unless <see cref="AgentOptions.Enabled"/> is false. Call after <c>AddTokenWire</c>.
    /// </summary>
    public static IServiceCollection AddTokenWireAgent(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        services.AddOptions<AgentOptions>().Bind(configuration.GetSection(AgentOptions.SectionName));
        services.AddHostedService<InProcessAgentService>();
        return services;
    }
}
