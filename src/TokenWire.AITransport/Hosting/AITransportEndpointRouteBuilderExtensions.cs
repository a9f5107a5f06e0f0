using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using TokenWire.Client;

namespace TokenWire.AITransport.Hosting;

/// <summary>Maps an agent route that accepts what <c>createChatTransport(session, { api })</c> posts.</summary>
public static class AITransportEndpointRouteBuilderExtensions
{
    /// <summary>Invocation bodies are two ids plus what an app's <c>prepareSendMessagesRequest</c> adds; far below this.</summary>
    private const int MaxBodyBytes = 64 * 1024;

    /// <summary>
    /// <c>POST {pattern}</c> with an invocation (<c>{ inputEventId, sessionName }</c>, other fields ignored) → 200
    /// <c>{ invocationId, runId }</c> once the run has started on the channel; the answer streams over the channel.
    /// Uses the <see cref="AITransportAgent"/> registered by <c>AddAITransportAgent</c>. Auth is the app's: chain
    /// <c>.RequireAuthorization()</c>, or pass <paramref name="authorize"/> to check the caller against the session
    /// (it runs after the body is parsed and may throw <see cref="AITransportException"/>).
    /// Bad input is answered as Ably does: <c>{ error: { code, statusCode, message } }</c> with <c>X-Ably-ErrorCode</c>.
    /// </summary>
    public static IEndpointConventionBuilder MapAITransportAgent(this IEndpointRouteBuilder routes, string pattern, Func<HttpContext, AITransportInvocation, ValueTask>? authorize = null) =>
        routes.MapPost(pattern, (HttpContext context) => HandleAsync(context, context.RequestServices.GetRequiredService<AITransportAgent>(), authorize));

    /// <summary>As the other overload, with an explicit agent (an app with several models maps several routes).</summary>
    public static IEndpointConventionBuilder MapAITransportAgent(this IEndpointRouteBuilder routes, string pattern, AITransportAgent agent, Func<HttpContext, AITransportInvocation, ValueTask>? authorize = null)
    {
        ArgumentNullException.ThrowIfNull(agent);
        return routes.MapPost(pattern, (HttpContext context) => HandleAsync(context, agent, authorize));
    }

    private static async Task HandleAsync(HttpContext context, AITransportAgent agent, Func<HttpContext, AITransportInvocation, ValueTask>? authorize)
    {
        try
        {
            var invocation = AITransportInvocation.Parse(await ReadBodyAsync(context.Request, context.RequestAborted).ConfigureAwait(false));
            if (authorize is not null)
            {
                await authorize(context, invocation).ConfigureAwait(false);
            }

            var run = await agent.StartRunAsync(invocation, context.RequestAborted).ConfigureAwait(false);
            await WriteAsync(context, StatusCodes.Status200OK, w =>
            {
                w.WriteString("invocationId", run.InvocationId);
                w.WriteString("runId", run.RunId);
            }).ConfigureAwait(false);
        }
        catch (AITransportException ex)
        {
            await WriteErrorAsync(context, ex.Code, ex.StatusCode, ex.Message).ConfigureAwait(false);
        }
        catch (AblyException ex)
        {
            // The channel refused the agent (no rights, not a mutable namespace…): the client should see why.
            var code = ex.ErrorInfo.Code;
            await WriteErrorAsync(context, code, code is >= 40000 and < 60000 ? code / 100 : 500, ex.Message).ConfigureAwait(false);
        }
    }

    private static async Task<byte[]> ReadBodyAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        using var buffer = new MemoryStream();
        var chunk = new byte[8192];
        int read;
        while ((read = await request.Body.ReadAsync(chunk, cancellationToken).ConfigureAwait(false)) > 0)
        {
            buffer.Write(chunk, 0, read);
            if (buffer.Length > MaxBodyBytes)
            {
                throw new AITransportException(AITransportException.InvalidRequestBody, $"Body exceeds {MaxBodyBytes} bytes");
            }
        }

        return buffer.ToArray();
    }

    private static Task WriteErrorAsync(HttpContext context, int code, int statusCode, string message)
    {
        context.Response.Headers["X-Ably-ErrorCode"] = code.ToString(System.Globalization.CultureInfo.InvariantCulture);
        context.Response.Headers["X-Ably-ErrorMessage"] = message;
        return WriteAsync(context, statusCode, w =>
        {
            w.WriteStartObject("error");
            w.WriteNumber("code", code);
            w.WriteNumber("statusCode", statusCode);
            w.WriteString("message", message);
            w.WriteEndObject();
        });
    }

    private static async Task WriteAsync(HttpContext context, int statusCode, Action<Utf8JsonWriter> body)
    {
        if (context.Response.HasStarted)
        {
            return;
        }

        context.Response.StatusCode = statusCode;
        context.Response.ContentType = "application/json";
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            body(writer);
            writer.WriteEndObject();
        }

        await context.Response.Body.WriteAsync(buffer.WrittenMemory, context.RequestAborted).ConfigureAwait(false);
    }
}
