using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using TokenWire.Client;

namespace TokenWire.AITransport.Hosting;

public static class AITransportServiceCollectionExtensions
{
    /// <summary>
    /// Registers an <see cref="AITransportAgent"/> answering with the <see cref="IChatClient"/> in DI (e.g.
    /// <c>AddChatClient(…).UseFunctionInvocation()</c> for tools), publishing through the
    /// <see cref="IAITransportClientProvider"/> in DI.
    /// </summary>
    public static IServiceCollection AddAITransportAgent(this IServiceCollection services, Action<AITransportAgentOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        var options = services.AddOptions<AITransportAgentOptions>();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        services.TryAddSingleton(sp => new AITransportAgent(
            sp.GetRequiredService<IAITransportClientProvider>(),
            sp.GetRequiredService<IChatClient>(),
            sp.GetRequiredService<IOptions<AITransportAgentOptions>>(),
            sp.GetService<ILogger<AITransportAgent>>(),
            sp.GetService<System.Diagnostics.Metrics.IMeterFactory>()));
        return services;
    }

    /// <summary>As above, connecting with <paramref name="clientOptions"/> (the agent's key and clientId) on first use.</summary>
    public static IServiceCollection AddAITransportAgent(this IServiceCollection services, RealtimeClientOptions clientOptions, Action<AITransportAgentOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(clientOptions);
        services.TryAddSingleton<IAITransportClientProvider>(new RealtimeClientProvider(clientOptions));
        return services.AddAITransportAgent(configure);
    }
}
