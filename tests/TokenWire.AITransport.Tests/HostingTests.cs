using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using TokenWire.AITransport.Hosting;
using TokenWire.Client;

namespace TokenWire.AITransport.Tests;

/// <summary>The endpoint as an app maps it: what it answers before any run reaches the channel.</summary>
public class HostingTests
{
    [Theory]
    [InlineData("{not json", 400, 40000)]
    [InlineData("{\"sessionName\":\"mutable:chat\"}", 400, 40003)]
    [InlineData("{\"inputEventId\":\"e1\",\"sessionName\":\"\"}", 400, 40003)]
    public async Task Bad_invocations_get_Ably_error_bodies(string body, int status, int code)
    {
        await using var app = await StartAsync();
        using var response = await app.GetTestClient().PostAsync("/api/chat", new StringContent(body, Encoding.UTF8, "application/json"));

        Assert.Equal((HttpStatusCode)status, response.StatusCode);
        Assert.Equal(code.ToString(System.Globalization.CultureInfo.InvariantCulture), response.Headers.GetValues("X-Ably-ErrorCode").Single());
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal(code, json.RootElement.GetProperty("error").GetProperty("code").GetInt32());
        Assert.Equal(status, json.RootElement.GetProperty("error").GetProperty("statusCode").GetInt32());
    }

    [Fact]
    public async Task The_authorize_callback_sees_the_parsed_invocation_and_can_refuse_it()
    {
        AITransportInvocation? seen = null;
        await using var app = await StartAsync((_, invocation) =>
        {
            seen = invocation;
            throw new AITransportException(40160, "not your session");
        });
        using var response = await app.GetTestClient().PostAsync("/api/chat", new StringContent("{\"inputEventId\":\"e1\",\"sessionName\":\"mutable:chat\"}", Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal(new AITransportInvocation("e1", "mutable:chat"), seen);
    }

    private static async Task<WebApplication> StartAsync(Func<Microsoft.AspNetCore.Http.HttpContext, AITransportInvocation, ValueTask>? authorize = null)
    {
        var builder = WebApplication.CreateBuilder();
        builder.WebHost.UseTestServer();
        builder.Services.AddChatClient(new NoModel());
        // Never connected: nothing here reaches a run.
        builder.Services.AddAITransportAgent(RealtimeClientOptions.Default with { Key = "app.key:secret", AutoConnect = false });
        var app = builder.Build();
        app.MapAITransportAgent("/api/chat", authorize);
        await app.StartAsync();
        return app;
    }

    private sealed class NoModel : IChatClient
    {
        public Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) => throw new NotSupportedException();

        public IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) => throw new NotSupportedException();

        public object? GetService(Type serviceType, object? serviceKey = null) => null;

        public void Dispose()
        {
        }
    }
}
