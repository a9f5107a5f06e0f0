using Microsoft.Extensions.Logging.Abstractions;
using TokenWire.Agent.Hosting;
using TokenWire.Server.Configuration;

namespace TokenWire.Agent.Tests.Hosting;

public sealed class AgentConnectionSettingsTests
{
    private static TokenWireOptions Server(params (string App, string Key, string Capability)[] keys)
    {
        var options = new TokenWireOptions();
        foreach (var group in keys.GroupBy(k => k.App))
        {
            options.Apps.Add(new AppOptions
            {
                Id = group.Key,
                Keys = group.Select(k => new KeyOptions { Id = k.Key, Secret = k.Key + "-secret", Capability = k.Capability }).ToList(),
            });
        }

        return options;
    }

    [Fact]
    public void A_configured_key_is_used_as_given()
    {
        var server = Server(("app", "root", """{"*":["*"]}"""));

        Assert.Equal("other.key:s", AgentConnectionSettings.ResolveKey(new AgentOptions { Key = "other.key:s" }, server));
    }

    [Fact]
    public void Without_a_configured_key_the_first_key_with_full_capability_is_used()
    {
        var server = Server(("app", "sub", """{"*":["subscribe"]}"""), ("app", "root", """{"*":["*"]}"""), ("app", "second", """{"*":["*"]}"""));

        Assert.Equal("app.root:root-secret", AgentConnectionSettings.ResolveKey(new AgentOptions(), server));
    }

    [Fact]
    public void Without_a_full_capability_key_there_is_none()
    {
        var server = Server(("app", "sub", """{"*":["subscribe","history"]}"""));

        Assert.Null(AgentConnectionSettings.ResolveKey(new AgentOptions(), server));
    }

    [Theory]
    [InlineData("http://+:8080")]
    [InlineData("http://*:8080")]
    [InlineData("http://[::]:8080")]
    [InlineData("http://0.0.0.0:8080")]
    public void Wildcard_listening_addresses_become_loopback(string address)
    {
        var uri = AgentConnectionSettings.ParseAddress(address);

        Assert.Equal("127.0.0.1", uri.Host);
        Assert.Equal(8080, uri.Port);
    }

    [Fact]
    public void Client_options_take_host_port_and_scheme_from_the_url()
    {
        var options = AgentConnectionSettings.ClientOptions(new Uri("https://example.test:8443"), "app.root:s", NullLoggerFactory.Instance);

        Assert.Equal(("example.test", 8443, true), (options.Endpoint, options.Port, options.Tls));
        Assert.Equal(("app.root:s", "ai-agent"), (options.Key, options.ClientId));
    }
}
