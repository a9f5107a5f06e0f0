using TokenWire.Server.Agent;
using TokenWire.Server.Hosting;

if (args.Length > 0 && args[0] == "agent")
{
    return await StandaloneAgent.RunAsync(args[1..]);
}

// Content root = the build output, so appsettings.json and the demo are found whatever the working directory.
var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
builder.Services.AddTokenWire(builder.Environment);

var app = builder.Build();
app.MapTokenWire();
app.MapGet("/", () => Results.Text("TokenWire is running. Connect an Ably SDK with { endpoint: 'localhost', port: 8080, tls: false }.\n"));
await app.RunAsync();
return 0;

/// <summary>Entry point, public for WebApplicationFactory-based tests.</summary>
public partial class Program;
