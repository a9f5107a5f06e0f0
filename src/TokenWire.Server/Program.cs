using TokenWire.Agent.Hosting;
using TokenWire.Redis;
using TokenWire.Server;
using TokenWire.Server.Demo;
using TokenWire.Server.Hosting;
using TokenWire.Server.Telemetry;

if (args.Length > 0 && args[0] == "agent")
{
    return await StandaloneAgent.RunAsync(args[1..]);
}

if (args.Length > 0 && args[0] == "healthcheck")
{
    return await HealthCheckCommand.RunAsync(args[1..]);
}

// Content root = the build output, so appsettings.json and the demo are found whatever the working directory.
// --sandbox is a bare switch; the configuration command line wants key/value pairs, so it is taken out first.
var sandbox = args.Contains("--sandbox");
args = args.Where(a => a != "--sandbox").ToArray();
var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
builder.Configuration.AddCommandLine(args, new Dictionary<string, string> { ["--redis"] = "TokenWire:Redis" });
if (sandbox)
{
    builder.Configuration["TokenWire:Sandbox:Enabled"] = "true";
}

builder.Services.AddTokenWire(builder.Environment);

// Realtime WebSocket upgrades below ASP.NET Core's HTTP stack on every endpoint (TokenWire:Connection:WebSocketFastPath).
builder.WebHost.ConfigureKestrel(kestrel => kestrel.ConfigureEndpointDefaults(listen => listen.UseTokenWireWebSocketFastPath()));
// The embedded engine unless a Redis server is configured (--redis host:port, TokenWire:Redis, TokenWire__Redis).
if (builder.Configuration["TokenWire:Redis"] is { Length: > 0 } redis)
{
    var engine = new RedisEngineOptions(redis, builder.Configuration["TokenWire:RedisKeyPrefix"] is { Length: > 0 } prefix ? prefix : RedisKeys.DefaultPrefix);
    if (builder.Configuration.GetValue<TimeSpan?>("TokenWire:RedisNodeTtl") is { } nodeTtl)
    {
        engine = engine with { NodeTtl = nodeTtl };
    }

    builder.Services.AddTokenWireRedis(engine);
}

// The agent (TokenWire:Agent; in-process unless Enabled=false) connects back over the wire like any other client.
builder.Services.AddTokenWireAgent(builder.Configuration);

// Metrics and traces: OTLP when OTEL_EXPORTER_OTLP_ENDPOINT is set, /metrics when TokenWire:Metrics:Prometheus.
builder.AddTokenWireTelemetry();

var app = builder.Build();
try
{
    app.MapTokenWireMetrics();
    app.MapTokenWire();
    app.MapTokenWireAgent();
    app.MapTokenWireAgentChat();
    app.MapTokenWireDemo();
}
catch (Microsoft.Extensions.Options.OptionsValidationException ex)
{
    // A configuration mistake, not a crash: say what to fix and exit.
    await Console.Error.WriteLineAsync("TokenWire cannot start: " + string.Join(" ", ex.Failures));
    return 1;
}

await app.RunAsync();
return 0;

/// <summary>Entry point, public for WebApplicationFactory-based tests.</summary>
public partial class Program;
