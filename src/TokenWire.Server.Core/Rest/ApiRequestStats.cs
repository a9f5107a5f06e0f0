using Microsoft.AspNetCore.Http;
using TokenWire.Server.Auth;
using TokenWire.Server.Stats;

namespace TokenWire.Server.Rest;

/// <summary>
/// Counts REST requests into the app's stats once answered: <c>apiRequests</c> for those that authenticated as an
/// app, <c>tokenRequests</c> for <c>requestToken</c> (the app told by the key name in the path). 2xx/3xx succeeded;
/// 401, 403 and 429 refused (credentials, capability, rate); any other error failed. Sits outside
/// <see cref="RestErrorMiddleware"/>, so it sees the status of the error it wrote.
/// </summary>
public sealed class ApiRequestStats(RequestDelegate next, StatsRecorder stats, AppRegistry apps)
{
    public async Task InvokeAsync(HttpContext context)
    {
        try
        {
            await next(context);
        }
        finally
        {
            Count(context);
        }
    }

    private void Count(HttpContext context)
    {
        var request = context.Request;
        var keyName = TokenRequestKeyName(request);
        var tokenRequest = keyName is not null;
        var appId = keyName is not null ? apps.FindKey(keyName)?.AppId : context.Items[RestAuthentication.AppIdItem] as string;
        if (appId is null || (HttpMethods.IsPost(request.Method) && request.Path == "/stats"))
        {
            // Unauthenticated, or sandbox fixtures: not the app's traffic.
            return;
        }

        var status = context.Response.StatusCode;
        var counter = status switch
        {
            < 400 => tokenRequest ? StatsCounter.TokenRequestsSucceeded : StatsCounter.ApiRequestsSucceeded,
            401 or 403 or 429 => tokenRequest ? StatsCounter.TokenRequestsRefused : StatsCounter.ApiRequestsRefused,
            _ => tokenRequest ? StatsCounter.TokenRequestsFailed : StatsCounter.ApiRequestsFailed,
        };
        stats.For(appId).Add(counter, 1);
    }

    /// <summary>The key name of <c>POST /keys/{keyName}/requestToken</c>; null for any other request.</summary>
    private static string? TokenRequestKeyName(HttpRequest request)
    {
        const string suffix = "/requestToken";
        if (!HttpMethods.IsPost(request.Method) || !request.Path.StartsWithSegments("/keys", out var rest) || rest.Value is not { } tail
            || !tail.EndsWith(suffix, StringComparison.Ordinal) || tail.Length <= suffix.Length + 1)
        {
            return null;
        }

        return Uri.UnescapeDataString(tail[1..^suffix.Length]);
    }
}
