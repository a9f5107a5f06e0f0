using System.Globalization;
using System.Net;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using TokenWire.RawFanout;

// A minimal WebSocket fan-out on Kestrel, no protocol: the baseline bench/TokenWire.LoadTest measures TokenWire
// against. `GET /?role=pub&channel=NAME`: every message this socket sends goes, as the same bytes and frame type, to
// every subscriber of NAME; with `&ack=1` the publisher also gets one small fixed-size text frame back per message,
// written by its read loop once the message is fanned out (TokenWire's ACK's socket work, no protocol).
// `GET /?role=sub&channel=NAME`: receives them. One bounded queue and one writer loop per
// subscriber, one WebSocket send per frame. Binds 127.0.0.1 only; `--urls http://127.0.0.1:PORT` (as the tests'
// ServerProcess passes it) or `--port PORT`, 0 = any free port. Prints "Now listening on: http://127.0.0.1:PORT"
// once it accepts connections; GET /health and GET /time answer 200 for readiness probes.
const string Usage = "usage: TokenWire.RawFanout [--urls http://127.0.0.1:PORT | --port PORT] [--queue-frames N]";
var port = 0;
var queueFrames = 8192; // as TokenWire's Limits:OutboundQueueFrames: a subscriber this far behind is dropped
for (var i = 0; i < args.Length; i++)
{
    var value = i + 1 < args.Length ? args[i + 1] : null;
    switch (args[i])
    {
        case "--urls" when value is not null && Uri.TryCreate(value.Split(';')[0], UriKind.Absolute, out var url) && url.Scheme == "http":
            if (!IPAddress.TryParse(url.Host, out var address) || !IPAddress.IsLoopback(address))
            {
                Console.Error.WriteLine($"error: --urls must be http://127.0.0.1:PORT (loopback only), not {value}");
                return 2;
            }

            port = url.Port;
            i++;
            break;
        case "--port" when int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out port) && port <= 65535:
            i++;
            break;
        case "--queue-frames" when int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out queueFrames) && queueFrames is > 0 and <= 1_000_000:
            i++;
            break;
        default:
            Console.Error.WriteLine($"error: unexpected argument {args[i]}\n{Usage}");
            return 2;
    }
}

var builder = WebApplication.CreateBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory });
builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, port));
builder.Logging.SetMinimumLevel(LogLevel.Warning);
builder.Services.AddSingleton(services => new FanoutHub(queueFrames, services.GetRequiredService<ILogger<FanoutHub>>()));

var app = builder.Build();
app.UseWebSockets();
app.MapGet("/health", () => "ok");
app.MapGet("/time", () => $"[{DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()}]");
app.Map("/", (HttpContext context, FanoutHub hub) => hub.HandleAsync(context));

await app.StartAsync();
var bound = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault();
Console.WriteLine($"Now listening on: {bound}");
Console.WriteLine($"RawFanout ready: {bound?.Replace("http://", "ws://", StringComparison.Ordinal)}/?role=pub|sub&channel=NAME, queue {queueFrames} frames per subscriber");
await app.WaitForShutdownAsync();
return 0;
