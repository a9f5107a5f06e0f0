using Microsoft.Extensions.Logging;
using TokenWire.Client;
using TokenWire.Server.Auth;
using TokenWire.Server.Configuration;

namespace TokenWire.Agent.Hosting;

/// <summary>How an agent reaches a server: the key it uses and the client options for a base URL.</summary>
public static class AgentConnectionSettings
{
    /// <summary>The configured agent key, or the first configured key whose capability is everything.</summary>
    public static string? ResolveKey(AgentOptions agent, TokenWireOptions server)
    {
        if (!string.IsNullOrEmpty(agent.Key))
        {
            return agent.Key;
        }

        foreach (var app in server.Apps)
        {
            foreach (var key in app.Keys)
            {
                if (Capability.Parse(key.Capability).Json == Capability.All.Json)
                {
                    return $"{app.Id}.{key.Id}:{key.Secret}";
                }
            }
        }

        return null;
    }

    /// <summary>Client options for <paramref name="baseUrl"/>; wildcard bind addresses become loopback.</summary>
    public static RealtimeClientOptions ClientOptions(Uri baseUrl, string key, ILoggerFactory loggers)
    {
        var host = baseUrl.Host is "+" or "*" or "0.0.0.0" or "[::]" or "::" ? "127.0.0.1" : baseUrl.Host;
        return RealtimeClientOptions.Default with
        {
            Key = key,
            ClientId = "ai-agent",
            Endpoint = host,
            Port = baseUrl.Port,
            Tls = baseUrl.Scheme == Uri.UriSchemeHttps,
            LoggerFactory = loggers,
        };
    }

    /// <summary>Kestrel's address list may hold wildcards such as <c>http://+:8080</c>, which <see cref="Uri"/> rejects.</summary>
    public static Uri ParseAddress(string address) =>
        new(address.Replace("://+", "://127.0.0.1", StringComparison.Ordinal).Replace("://*", "://127.0.0.1", StringComparison.Ordinal)
            .Replace("://[::]", "://127.0.0.1", StringComparison.Ordinal).Replace("://0.0.0.0", "://127.0.0.1", StringComparison.Ordinal));
}
