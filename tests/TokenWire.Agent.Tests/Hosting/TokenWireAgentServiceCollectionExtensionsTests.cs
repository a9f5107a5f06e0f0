using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using TokenWire.Agent.Hosting;

namespace TokenWire.Agent.Tests.Hosting;

public sealed class TokenWireAgentServiceCollectionExtensionsTests
{
    [Fact]
    public void AddTokenWireAgent_binds_TokenWire_Agent_and_hosts_the_in_process_agent()
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["TokenWire:Agent:Enabled"] = "false",
                ["TokenWire:Agent:RequestsChannel"] = "custom:requests",
            })
            .Build();

        var services = new ServiceCollection().AddTokenWireAgent(configuration);
        using var provider = services.BuildServiceProvider();
        var options = provider.GetRequiredService<IOptions<AgentOptions>>().Value;

        Assert.False(options.Enabled);
        Assert.Equal("custom:requests", options.RequestsChannel);
        Assert.Contains(services, d => d.ServiceType == typeof(IHostedService) && d.ImplementationType == typeof(InProcessAgentService));
    }

    [Fact]
    public void Without_configuration_the_agent_is_enabled_in_process()
    {
        using var provider = new ServiceCollection().AddTokenWireAgent(new ConfigurationBuilder().Build()).BuildServiceProvider();

        Assert.True(provider.GetRequiredService<IOptions<AgentOptions>>().Value.Enabled);
    }
}
