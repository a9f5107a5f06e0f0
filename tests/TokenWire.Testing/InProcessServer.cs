using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using TokenWire.Server.Hosting;

namespace TokenWire.Testing;

/// <summary>
/// The server as a library, in the test's own process: <c>AddTokenWire</c> + <c>MapTokenWire</c> on Kestrel at
/// 127.0.0.1 on a free port, in the Development environment so the development keys exist. Protocol behaviour is
/// testable through <see cref="RawRealtimeSocket"/> without a child process, and the test can reach the server's
/// services (<see cref="Services"/>) or replace them before it starts.
/// </summary>
public sealed class InProcessServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    private InProcessServer(WebApplication app, Uri baseUri)
    {
        _app = app;
        BaseUri = baseUri;
    }

    public const string RootKey = ServerProcess.RootKey;

    public const string SubscribeOnlyKey = ServerProcess.SubscribeOnlyKey;

    public Uri BaseUri { get; }

    public IServiceProvider Services => _app.Services;

    /// <param name="configuration">Settings as on the command line, e.g. <c>["TokenWire:Limits:MaxMessageSize"] = "1024"</c>.</param>
    /// <param name="services">Registrations after <c>AddTokenWire</c>'s, e.g. an engine or a fake <see cref="TimeProvider"/>.</param>
    /// <param name="middleware">Runs before <c>MapTokenWire</c>: middleware in front of the server's own (a test double for a request feature, say).</param>
    public static async Task<InProcessServer> StartAsync(IReadOnlyDictionary<string, string?>? configuration = null, Action<IServiceCollection>? services = null, Action<WebApplication>? middleware = null)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { EnvironmentName = Environments.Development });
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        if (configuration is not null)
        {
            builder.Configuration.AddInMemoryCollection(configuration);
        }

        builder.Services.AddTokenWire(builder.Environment);
        services?.Invoke(builder.Services);
        var app = builder.Build();
        middleware?.Invoke(app);
        app.MapTokenWire();
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First();
        return new InProcessServer(app, new Uri(address));
    }

    /// <summary>Opens a realtime connection with <paramref name="query"/> (<c>key</c>, <c>format</c>, <c>echo</c>…) and records its frames.</summary>
    public Task<RawRealtimeSocket> ConnectAsync(string query, CancellationToken cancellationToken = default) =>
        RawRealtimeSocket.ConnectAsync(new Uri($"ws://{BaseUri.Authority}/?{query}"), cancellationToken);

    /// <summary>Stops the host as a SIGTERM does (<see cref="DisposeAsync"/> stops it too, if this was not called).</summary>
    public Task StopAsync() => _app.StopAsync();

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
