using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using TokenWire.Protocol;

namespace TokenWire.Server.Rest;

/// <summary>Turns exceptions and unmatched routes into Ably error bodies, and answers CORS (reference §5.1).</summary>
public sealed partial class RestErrorMiddleware(RequestDelegate next, ILogger<RestErrorMiddleware> logger)
{
    private const string AllowedHeaders = "authorization, content-type, accept, x-ably-version, ably-agent, x-ably-clientid, x-ably-lib, x-ably-devicetoken, x-ably-devicesecret";
    private const string ExposedHeaders = "Link, X-Ably-ErrorCode, X-Ably-ErrorMessage, X-Ably-Serverid";

    public async Task InvokeAsync(HttpContext context)
    {
        var origin = context.Request.Headers.Origin.ToString();
        if (origin.Length > 0)
        {
            // ably-js sends credentials with Authorization, so the origin must be echoed, never '*'.
            var headers = context.Response.Headers;
            headers.AccessControlAllowOrigin = origin;
            headers.AccessControlAllowCredentials = "true";
            headers.AccessControlExposeHeaders = ExposedHeaders;
            headers.Vary = "Origin";
            if (HttpMethods.IsOptions(context.Request.Method))
            {
                headers.AccessControlAllowMethods = "GET, POST, PUT, PATCH, DELETE, OPTIONS";
                headers.AccessControlAllowHeaders = AllowedHeaders;
                headers.AccessControlMaxAge = "86400";
                context.Response.StatusCode = StatusCodes.Status204NoContent;
                return;
            }
        }

        try
        {
            await next(context);
            if (context.Response.StatusCode == StatusCodes.Status404NotFound && !context.Response.HasStarted && context.GetEndpoint() is null)
            {
                await RestResponses.WriteErrorAsync(context, ErrorCodes.Create(ErrorCodes.NotFound, $"Not found: {context.Request.Method} {context.Request.Path}"));
            }
            else if (context.Response.StatusCode == StatusCodes.Status405MethodNotAllowed && !context.Response.HasStarted)
            {
                // Ably answers a known path with the wrong method as not found (ably-js request_404 expects 40400).
                await RestResponses.WriteErrorAsync(context, ErrorCodes.Create(ErrorCodes.NotFound, $"Not found: {context.Request.Method} {context.Request.Path}"));
            }
        }
        catch (ProtocolException ex) when (!context.Response.HasStarted)
        {
            await RestResponses.WriteErrorAsync(context, ex.Error);
        }
        catch (BadHttpRequestException ex) when (!context.Response.HasStarted)
        {
            await RestResponses.WriteErrorAsync(context, ErrorCodes.Create(ErrorCodes.BadRequest, ex.Message));
        }
        catch (Exception ex) when (!context.Response.HasStarted && ex is not OperationCanceledException)
        {
            RequestFailed(logger, ex, context.Request.Method, context.Request.Path);
            await RestResponses.WriteErrorAsync(context, ErrorCodes.Create(ErrorCodes.InternalError, "Internal server error"));
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "{Method} {Path} failed")]
    private static partial void RequestFailed(ILogger logger, Exception exception, string method, string path);
}
