using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace TokenWire.Agent.Hosting;

/// <summary>
/// <c>TokenWire.Server agent --url http://host:8080 --key appId.keyId:secret</c>: the agent alone, as a separate
/// process against any TokenWire server. Model settings come from the same configuration keys and variables.
/// </summary>
public static class StandaloneAgent
{
    public static async Task<int> RunAsync(string[] args)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { Args = args, ContentRootPath = AppContext.BaseDirectory });
        builder.Configuration.AddCommandLine(args, new Dictionary<string, string> { ["--url"] = "url", ["--key"] = "TokenWire:Agent:Key" });
        builder.Services.AddOptions<AgentOptions>().BindConfiguration(AgentOptions.SectionName);
        using var host = builder.Build();
        var options = host.Services.GetRequiredService<IOptions<AgentOptions>>().Value;
        var loggers = host.Services.GetRequiredService<ILoggerFactory>();
        var url = builder.Configuration["url"] ?? "http://localhost:8080";
        if (string.IsNullOrEmpty(options.Key))
        {
            await Console.Error.WriteLineAsync("agent: a key is required: --key appId.keyId:secret (or TokenWire__Agent__Key)");
            return 2;
        }

        var lifetime = host.Services.GetRequiredService<IHostApplicationLifetime>();
        await host.StartAsync();
        var clientOptions = AgentConnectionSettings.ClientOptions(new Uri(url), options.Key, loggers);
        await AgentRunner.RunAsync(clientOptions, ChatClientFactory.Create(options), options, loggers, lifetime.ApplicationStopping, new AgentMetrics(host.Services.GetService<System.Diagnostics.Metrics.IMeterFactory>()));
        await host.StopAsync();
        return 0;
    }
}
