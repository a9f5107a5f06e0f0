using System.IO.Pipelines;
using System.Text;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using TokenWire.Server.Hosting;

namespace TokenWire.Server.Tests.Hosting;

/// <summary>
/// The fast path as Kestrel connection middleware, on in-memory pipes: what it declines reaches Kestrel's HTTP stack
/// (the next middleware) with every byte still unread, whether it came in one piece or several.
/// </summary>
public sealed class WebSocketFastPathTests
{
    private readonly Pipe _fromClient = new();
    private readonly Pipe _toClient = new();

    [Fact]
    public async Task Until_activated_every_connection_goes_to_kestrel_untouched()
    {
        var fastPath = new WebSocketFastPath(new ServiceCollection().BuildServiceProvider(), NullLogger<WebSocketFastPath>.Instance);
        var request = Upgrade();
        await _fromClient.Writer.WriteAsync(Encoding.ASCII.GetBytes(request));

        var seen = await RunAsync(fastPath, new KestrelServerLimits());

        Assert.Equal(request, seen);
    }

    [Fact]
    public async Task A_declined_request_split_over_writes_reaches_kestrel_whole()
    {
        var fastPath = Activated();
        const string request = "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/html\r\n\r\nGET /health HTTP/1.1\r\n";
        var bytes = Encoding.ASCII.GetBytes(request);
        var serving = RunAsync(fastPath, new KestrelServerLimits());

        // A prefix that could still be an upgrade, then the rest: declined only once the header block is whole.
        await _fromClient.Writer.WriteAsync(bytes.AsMemory(0, 20));
        await _fromClient.Writer.WriteAsync(bytes.AsMemory(20));

        Assert.Equal(request, await serving.Within());
    }

    [Fact]
    public async Task A_connection_closed_before_a_whole_request_goes_to_kestrel_with_what_it_sent()
    {
        var fastPath = Activated();
        var serving = RunAsync(fastPath, new KestrelServerLimits());

        await _fromClient.Writer.WriteAsync(Encoding.ASCII.GetBytes("GET /?v=6 HTTP/1.1\r\n"));
        await _fromClient.Writer.CompleteAsync();

        Assert.Equal("GET /?v=6 HTTP/1.1\r\n", await serving.Within());
    }

    [Fact]
    public async Task A_connection_that_sends_nothing_is_closed_after_kestrels_keep_alive_timeout()
    {
        var fastPath = Activated();
        var limits = new KestrelServerLimits { KeepAliveTimeout = TimeSpan.FromMilliseconds(200) };

        var seen = await RunAsync(fastPath, limits).Within();

        Assert.Null(seen);
    }

    [Fact]
    public async Task An_incomplete_upgrade_is_closed_after_kestrels_request_headers_timeout()
    {
        var fastPath = Activated();
        var limits = new KestrelServerLimits { RequestHeadersTimeout = TimeSpan.FromMilliseconds(200) };
        var serving = RunAsync(fastPath, limits);

        await _fromClient.Writer.WriteAsync(Encoding.ASCII.GetBytes(Upgrade()[..40]));

        Assert.Null(await serving.Within());
    }

    private static string Upgrade() =>
        "GET /?v=6 HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n";

    private static WebSocketFastPath Activated()
    {
        var fastPath = new WebSocketFastPath(new ServiceCollection().BuildServiceProvider(), NullLogger<WebSocketFastPath>.Instance);
        fastPath.Activate();
        return fastPath;
    }

    /// <summary>
    /// Runs the middleware over the pipes; the result is what the next middleware (Kestrel's HTTP stack) read, up to
    /// the end of the client's bytes or of what was written before it, or null when it was never called.
    /// </summary>
    private async Task<string?> RunAsync(WebSocketFastPath fastPath, KestrelServerLimits limits)
    {
        string? seen = null;
        var connection = new DefaultConnectionContext("test", new DuplexPipe(_fromClient.Reader, _toClient.Writer), new DuplexPipe(_toClient.Reader, _fromClient.Writer));
        var middleware = fastPath.Middleware(
            async next =>
            {
                var text = new StringBuilder();
                while (true)
                {
                    var result = await next.Transport.Input.ReadAsync();
                    foreach (var segment in result.Buffer)
                    {
                        text.Append(Encoding.ASCII.GetString(segment.Span));
                    }

                    next.Transport.Input.AdvanceTo(result.Buffer.End);
                    var request = text.ToString();
                    if (result.IsCompleted || request.EndsWith("\r\n", StringComparison.Ordinal))
                    {
                        seen = request;
                        return;
                    }
                }
            },
            limits);
        await middleware(connection);
        return seen;
    }

    private sealed record DuplexPipe(PipeReader Input, PipeWriter Output) : IDuplexPipe;
}
