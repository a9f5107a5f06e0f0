using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Options;
using TokenWire.Protocol;
using TokenWire.Server.Auth;
using TokenWire.Server.Channels;
using TokenWire.Server.Configuration;
using TokenWire.Server.Push;

namespace TokenWire.Server.Rest;

/// <summary>
/// Ably's push admin REST API (spec RSH1): device registrations (<c>/push/deviceRegistrations</c>), channel
/// subscriptions (<c>/push/channelSubscriptions</c>, <c>/push/channels</c>), publishing to a recipient
/// (<c>/push/publish</c>) and the VAPID key web push activation asks for (<c>/push/publicVapidKey</c>), in JSON and
/// msgpack. <c>push-admin</c> may do anything; a device manages its own registration with its device identity token
/// (<c>X-Ably-DeviceToken</c>, or <c>Authorization: Bearer</c> as ably-js sends it for updates and deregistration) or
/// its <c>X-Ably-DeviceSecret</c>; <c>push-subscribe</c> subscribes the caller's own device or clientId.
/// </summary>
public static class PushApi
{
    private const int DefaultLimit = 100;
    private const int MaxLimit = 1000;

    public static IEndpointRouteBuilder MapPushApi(this IEndpointRouteBuilder routes)
    {
        routes.MapGet("/push/publicVapidKey", PublicVapidKeyAsync);
        routes.MapPost("/push/publish", PublishAsync);
        routes.MapGet("/push/deviceRegistrations", ListDevicesAsync);
        routes.MapPost("/push/deviceRegistrations", RegisterDeviceAsync);
        routes.MapDelete("/push/deviceRegistrations", RemoveDevicesAsync);
        routes.MapGet("/push/deviceRegistrations/{deviceId}", GetDeviceAsync);
        routes.MapPut("/push/deviceRegistrations/{deviceId}", SaveDeviceAsync);
        routes.MapPatch("/push/deviceRegistrations/{deviceId}", UpdateDeviceAsync);
        routes.MapDelete("/push/deviceRegistrations/{deviceId}", RemoveDeviceAsync);
        routes.MapGet("/push/channelSubscriptions", ListSubscriptionsAsync);
        routes.MapPost("/push/channelSubscriptions", SaveSubscriptionAsync);
        routes.MapDelete("/push/channelSubscriptions", RemoveSubscriptionsAsync);
        routes.MapGet("/push/channels", ListChannelsAsync);
        return routes;
    }

    /// <summary>Who is calling: a key or token holder (<see cref="Auth"/>), the device it proved to be, or both.</summary>
    private sealed record PushCaller(string AppId, AuthContext? Auth, DeviceRegistration? Device)
    {
        public bool Has(ChannelOperation operation, string? channel = null) =>
            Auth is { } auth && (channel is null ? auth.Capability.Grants.Any(g => (g.Value & operation) != 0) : auth.Capability.Allows(channel, operation));

        public bool IsAdmin(string? channel = null) => Has(ChannelOperation.PushAdmin, channel);

        public bool IsDevice(string? deviceId) => deviceId is not null && Device?.Id == deviceId;
    }

    private static async Task PublicVapidKeyAsync(HttpContext context, RestAuthentication authentication, IOptions<TokenWireOptions> options)
    {
        authentication.Authenticate(context.Request);
        var vapid = options.Value.Push.Vapid;
        if (!vapid.IsConfigured)
        {
            throw new ProtocolException(ErrorCodes.NotFound, "Web Push is not configured on this server (TokenWire:Push:Vapid)");
        }

        context.Response.ContentType = "text/plain";
        await context.Response.WriteAsync(vapid.PublicKey!, context.RequestAborted);
    }

    private static async Task PublishAsync(HttpContext context, RestAuthentication authentication, IPushRegistry registry, PushQueue queue, IOptions<TokenWireOptions> options)
    {
        var caller = await CallerAsync(context, authentication, registry, null);
        RequireAdmin(caller, null, "publish push notifications");
        var body = await ReadObjectAsync(context, options, "A push publish");
        if (!body.TryGetProperty("recipient", out var recipient) || recipient.ValueKind != JsonValueKind.Object)
        {
            throw PushRecipients.Invalid("A push publish needs a recipient object");
        }

        var (kind, target) = recipient switch
        {
            _ when StringField(recipient, "deviceId") is { } deviceId => (PushTargetKind.Device, deviceId),
            _ when StringField(recipient, "clientId") is { } clientId => (PushTargetKind.Client, clientId),
            _ when recipient.TryGetProperty("transportType", out _) => (PushTargetKind.Recipient, PushRecipients.ValidateRecipient(recipient).GetRawText()),
            _ => throw PushRecipients.Invalid("A push recipient needs a deviceId, a clientId or a transportType"),
        };
        var payload = Payload(body);
        queue.EnqueueDirect(new PushJob(caller.AppId, kind, target, payload));
        context.Response.StatusCode = StatusCodes.Status201Created;
    }

    /// <summary>The body less its recipient: Ably's payload (<c>notification</c>, <c>data</c>, per-platform overrides).</summary>
    private static string Payload(JsonElement body)
    {
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream))
        {
            w.WriteStartObject();
            foreach (var property in body.EnumerateObject().Where(p => p.Name != "recipient"))
            {
                property.WriteTo(w);
            }

            w.WriteEndObject();
        }

        if (!body.EnumerateObject().Any(p => p.Name is "notification" or "data" or "web" or "apns" or "fcm"))
        {
            throw PushRecipients.Invalid("A push publish needs a payload: notification, data, or web/apns/fcm overrides");
        }

        return Encoding.UTF8.GetString(stream.ToArray());
    }

    private static async Task RegisterDeviceAsync(HttpContext context, RestAuthentication authentication, IPushRegistry registry, IOptions<TokenWireOptions> options, TimeProvider time)
    {
        var caller = await CallerAsync(context, authentication, registry, null);
        if (!caller.Has(ChannelOperation.PushSubscribe) && !caller.IsAdmin())
        {
            throw new ProtocolException(ErrorCodes.OperationNotPermitted, "Permission denied: registering a device needs the push-subscribe or push-admin capability");
        }

        var device = PushRecipients.ParseDevice(await ReadObjectAsync(context, options, "A device registration"), pathId: null);
        var identity = caller.Auth?.Identity;
        if (!caller.IsAdmin() && device.ClientId is { } clientId && identity != clientId)
        {
            throw new ProtocolException(new ErrorInfo(61002, 400, $"Device clientId '{clientId}' does not match the caller's clientId"));
        }

        var existing = await registry.GetDeviceAsync(caller.AppId, device.Id, context.RequestAborted);
        if (existing is not null && !caller.IsAdmin() && !caller.IsDevice(existing.Id)
            && (device.DeviceSecret is not { } secret || !DeviceIdentityTokens.MatchesSecret(existing, secret)))
        {
            throw new ProtocolException(ErrorCodes.OperationNotPermitted, $"Permission denied: device '{device.Id}' is registered and the request does not prove to be it");
        }

        device = device with
        {
            ClientId = device.ClientId ?? identity,
            IdentityToken = DeviceIdentityTokens.Issue(caller.AppId, device.Id),
            IdentityTokenIssued = time.GetUtcNow().ToUnixTimeMilliseconds(),
        };
        await registry.SaveDeviceAsync(caller.AppId, device, context.RequestAborted);
        await RestResponses.WriteJsonAsync(context, StatusCodes.Status201Created, w => device.Write(w, withIdentityToken: true));
    }

    private static async Task SaveDeviceAsync(HttpContext context, string deviceId, RestAuthentication authentication, IPushRegistry registry, IOptions<TokenWireOptions> options, TimeProvider time)
    {
        var caller = await CallerAsync(context, authentication, registry, deviceId);
        RequireDevice(caller, deviceId);
        var device = PushRecipients.ParseDevice(await ReadObjectAsync(context, options, "A device registration"), deviceId);
        var existing = await registry.GetDeviceAsync(caller.AppId, deviceId, context.RequestAborted);
        device = device with
        {
            IdentityToken = existing?.IdentityToken ?? DeviceIdentityTokens.Issue(caller.AppId, deviceId),
            IdentityTokenIssued = existing?.IdentityTokenIssued ?? time.GetUtcNow().ToUnixTimeMilliseconds(),
        };
        await registry.SaveDeviceAsync(caller.AppId, device, context.RequestAborted);
        await RestResponses.WriteJsonAsync(context, StatusCodes.Status200OK, w => device.Write(w));
    }

    private static async Task UpdateDeviceAsync(HttpContext context, string deviceId, RestAuthentication authentication, IPushRegistry registry, IOptions<TokenWireOptions> options)
    {
        var caller = await CallerAsync(context, authentication, registry, deviceId);
        RequireDevice(caller, deviceId);
        var existing = await registry.GetDeviceAsync(caller.AppId, deviceId, context.RequestAborted) ?? throw DeviceNotFound(deviceId);
        var device = PushRecipients.ApplyPatch(existing, await ReadObjectAsync(context, options, "A device registration update"));
        await registry.SaveDeviceAsync(caller.AppId, device, context.RequestAborted);
        await RestResponses.WriteJsonAsync(context, StatusCodes.Status200OK, w => device.Write(w));
    }

    private static async Task GetDeviceAsync(HttpContext context, string deviceId, RestAuthentication authentication, IPushRegistry registry)
    {
        var caller = await CallerAsync(context, authentication, registry, deviceId);
        RequireDevice(caller, deviceId);
        var device = await registry.GetDeviceAsync(caller.AppId, deviceId, context.RequestAborted) ?? throw DeviceNotFound(deviceId);
        await RestResponses.WriteJsonAsync(context, StatusCodes.Status200OK, w => device.Write(w));
    }

    private static async Task RemoveDeviceAsync(HttpContext context, string deviceId, RestAuthentication authentication, IPushRegistry registry)
    {
        var caller = await CallerAsync(context, authentication, registry, deviceId);
        RequireDevice(caller, deviceId);
        await registry.RemoveDevicesAsync(caller.AppId, new DeviceFilter(DeviceId: deviceId), context.RequestAborted);
        context.Response.StatusCode = StatusCodes.Status204NoContent;
    }

    private static async Task ListDevicesAsync(HttpContext context, RestAuthentication authentication, IPushRegistry registry)
    {
        var (caller, filter) = await DevicesCallerAsync(context, authentication, registry, "list device registrations");
        await WriteListingAsync(
            context,
            "deviceRegistrations",
            (cursor, n) => registry.ListDevicesAsync(caller.AppId, filter, cursor, n, context.RequestAborted),
            device => device.Id,
            (w, device) => device.Write(w));
    }

    private static async Task RemoveDevicesAsync(HttpContext context, RestAuthentication authentication, IPushRegistry registry)
    {
        var (caller, filter) = await DevicesCallerAsync(context, authentication, registry, "remove device registrations");
        if (filter.IsEmpty)
        {
            throw PushRecipients.Invalid("removeWhere needs a deviceId or clientId");
        }

        await registry.RemoveDevicesAsync(caller.AppId, filter, context.RequestAborted);
        context.Response.StatusCode = StatusCodes.Status204NoContent;
    }

    private static async Task SaveSubscriptionAsync(HttpContext context, RestAuthentication authentication, IPushRegistry registry, IOptions<TokenWireOptions> options, AppRegistry apps)
    {
        var body = await ReadObjectAsync(context, options, "A channel subscription");
        var channel = StringField(body, "channel");
        if (string.IsNullOrEmpty(channel))
        {
            throw PushRecipients.Invalid("A channel subscription needs a channel");
        }

        ChannelNames.Validate(channel);
        var subscription = new PushChannelSubscription(channel, StringField(body, "deviceId"), StringField(body, "clientId"));
        if ((subscription.DeviceId is null) == (subscription.ClientId is null))
        {
            throw PushRecipients.Invalid("A channel subscription needs exactly one of deviceId or clientId");
        }

        var caller = await CallerAsync(context, authentication, registry, subscription.DeviceId);
        RequireSubscriber(caller, channel, subscription.DeviceId, subscription.ClientId);
        if (apps.FindApp(caller.AppId) is { } app && !app.IsPushEnabled(channel))
        {
            throw PushRecipients.Invalid($"Push is not enabled on channel '{channel}': enable the pushEnabled rule of its namespace (TokenWire:Apps:…:Namespaces)");
        }

        await registry.SaveSubscriptionAsync(caller.AppId, subscription, context.RequestAborted);
        await RestResponses.WriteJsonAsync(context, StatusCodes.Status201Created, subscription.Write);
    }

    private static async Task ListSubscriptionsAsync(HttpContext context, RestAuthentication authentication, IPushRegistry registry)
    {
        var query = context.Request.Query;
        var filter = new SubscriptionFilter(Param(query, "channel"), Param(query, "deviceId"), Param(query, "clientId"), Param(query, "concatFilters") == "true");
        var caller = await SubscriptionsCallerAsync(context, authentication, registry, filter);
        await WriteListingAsync(
            context,
            "channelSubscriptions",
            (cursor, n) => registry.ListSubscriptionsAsync(caller.AppId, filter, cursor, n, context.RequestAborted),
            subscription => subscription.Key,
            (w, subscription) => subscription.Write(w));
    }

    private static async Task RemoveSubscriptionsAsync(HttpContext context, RestAuthentication authentication, IPushRegistry registry)
    {
        var query = context.Request.Query;
        var filter = new SubscriptionFilter(Param(query, "channel"), Param(query, "deviceId"), Param(query, "clientId"));
        if (filter.DeviceId is null && filter.ClientId is null && filter.Channel is null)
        {
            throw PushRecipients.Invalid("Removing channel subscriptions needs a channel, deviceId or clientId");
        }

        var caller = await SubscriptionsCallerAsync(context, authentication, registry, filter);
        await registry.RemoveSubscriptionsAsync(caller.AppId, filter, context.RequestAborted);
        context.Response.StatusCode = StatusCodes.Status204NoContent;
    }

    private static async Task ListChannelsAsync(HttpContext context, RestAuthentication authentication, IPushRegistry registry)
    {
        var caller = await CallerAsync(context, authentication, registry, null);
        RequireAdmin(caller, null, "list push channels");
        await WriteListingAsync(
            context,
            "channels",
            (cursor, n) => registry.ListChannelsAsync(caller.AppId, cursor, n, context.RequestAborted),
            channel => channel,
            (w, channel) => w.WriteStringValue(channel));
    }

    /// <summary>The caller of a request about the devices its query names: that device itself, or one that may administer push.</summary>
    private static async Task<(PushCaller Caller, DeviceFilter Filter)> DevicesCallerAsync(HttpContext context, RestAuthentication authentication, IPushRegistry registry, string what)
    {
        var query = context.Request.Query;
        var filter = new DeviceFilter(Param(query, "deviceId"), Param(query, "clientId"));
        var caller = await CallerAsync(context, authentication, registry, filter.DeviceId);
        if (!caller.IsDevice(filter.DeviceId))
        {
            RequireAdmin(caller, null, what);
        }

        return (caller, filter);
    }

    /// <summary>The caller of a request about the subscriptions <paramref name="filter"/> names: an admin of the channel, or their subscriber.</summary>
    private static async Task<PushCaller> SubscriptionsCallerAsync(HttpContext context, RestAuthentication authentication, IPushRegistry registry, SubscriptionFilter filter)
    {
        var caller = await CallerAsync(context, authentication, registry, filter.DeviceId);
        if (!caller.IsAdmin(filter.Channel))
        {
            RequireSubscriber(caller, filter.Channel, filter.DeviceId, filter.ClientId);
        }

        return caller;
    }

    /// <summary>
    /// One page of a push listing: the limit and cursor come from the query, items are read one past the limit, and
    /// the Link header's next cursor is the last item's <paramref name="cursorOf"/> when there are more.
    /// </summary>
    private static Task WriteListingAsync<T>(HttpContext context, string resource, Func<string?, int, ValueTask<IReadOnlyList<T>>> list, Func<T, string> cursorOf, Action<Utf8JsonWriter, T> write)
    {
        var query = context.Request.Query;
        return RestPaging.WriteArrayAsync(
            context,
            Limit(query),
            n => list(Param(query, "cursor"), n),
            page => Link(resource, query, page.HasNext ? cursorOf(page.Last) : null),
            write);
    }

    /// <summary>
    /// Authenticates the request: a Bearer device identity token alone (a device updating or deregistering itself),
    /// or REST credentials, plus optionally <c>X-Ably-DeviceToken</c> / <c>X-Ably-DeviceSecret</c> proving the caller
    /// is <paramref name="deviceId"/> (or the device its token names).
    /// </summary>
    private static async Task<PushCaller> CallerAsync(HttpContext context, RestAuthentication authentication, IPushRegistry registry, string? deviceId)
    {
        var request = context.Request;
        var header = request.Headers.Authorization.ToString();
        if (header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) && DecodeBearer(header["Bearer ".Length..].Trim()) is { } bearer
            && DeviceIdentityTokens.TryParse(bearer, out var tokenApp, out var tokenDevice))
        {
            var device = await ProveDeviceAsync(registry, tokenApp, tokenDevice, d => DeviceIdentityTokens.Matches(d, bearer), context.RequestAborted);
            request.HttpContext.Items[RestAuthentication.AppIdItem] = tokenApp;
            return new PushCaller(tokenApp, null, device);
        }

        var auth = authentication.Authenticate(request);
        DeviceRegistration? proven = null;
        if (request.Headers["X-Ably-DeviceToken"].ToString() is { Length: > 0 } token)
        {
            if (!DeviceIdentityTokens.TryParse(token, out var app, out var id) || app != auth.App.Id)
            {
                throw InvalidDeviceCredentials();
            }

            proven = await ProveDeviceAsync(registry, app, id, d => DeviceIdentityTokens.Matches(d, token), context.RequestAborted);
        }
        else if (request.Headers["X-Ably-DeviceSecret"].ToString() is { Length: > 0 } secret && deviceId is not null)
        {
            proven = await ProveDeviceAsync(registry, auth.App.Id, deviceId, d => DeviceIdentityTokens.MatchesSecret(d, secret), context.RequestAborted);
        }

        return new PushCaller(auth.App.Id, auth, proven);
    }

    private static async Task<DeviceRegistration> ProveDeviceAsync(IPushRegistry registry, string appId, string deviceId, Func<DeviceRegistration, bool> matches, CancellationToken cancellationToken)
    {
        var device = await registry.GetDeviceAsync(appId, deviceId, cancellationToken);
        return device is not null && matches(device) ? device : throw InvalidDeviceCredentials();
    }

    private static ProtocolException InvalidDeviceCredentials() =>
        new(ErrorCodes.InvalidCredentials, "Invalid device credentials: the device identity token or secret does not match a registered device");

    private static string? DecodeBearer(string value)
    {
        try
        {
            return Encoding.UTF8.GetString(Convert.FromBase64String(value));
        }
        catch (FormatException)
        {
            return value;
        }
    }

    private static void RequireAdmin(PushCaller caller, string? channel, string what)
    {
        if (!caller.IsAdmin(channel))
        {
            throw new ProtocolException(ErrorCodes.OperationNotPermitted, $"Permission denied: to {what} needs the push-admin capability");
        }
    }

    private static void RequireDevice(PushCaller caller, string deviceId)
    {
        if (!caller.IsAdmin() && !caller.IsDevice(deviceId))
        {
            throw new ProtocolException(ErrorCodes.OperationNotPermitted, $"Permission denied: device '{deviceId}' may be managed by push-admin or by the device itself");
        }
    }

    /// <summary>push-admin on the channel, or push-subscribe for the caller's own device or clientId.</summary>
    private static void RequireSubscriber(PushCaller caller, string? channel, string? deviceId, string? clientId)
    {
        if (caller.IsAdmin(channel))
        {
            return;
        }

        if (!caller.Has(ChannelOperation.PushSubscribe, channel))
        {
            throw new ProtocolException(ErrorCodes.OperationNotPermitted, $"Permission denied: no push-subscribe capability{(channel is null ? string.Empty : $" on channel '{channel}'")}");
        }

        var own = (deviceId is not null || clientId is not null)
            && (deviceId is null || caller.IsDevice(deviceId))
            && (clientId is null || clientId == caller.Auth?.Identity);
        if (!own)
        {
            throw new ProtocolException(ErrorCodes.OperationNotPermitted, "Permission denied: push-subscribe covers only the caller's own device (with its device identity token) or its own clientId");
        }
    }

    private static ProtocolException DeviceNotFound(string deviceId) => new(ErrorCodes.NotFound, $"Device '{deviceId}' is not registered");

    private static async Task<JsonElement> ReadObjectAsync(HttpContext context, IOptions<TokenWireOptions> options, string what)
    {
        var body = await RestBody.ReadJsonAsync(context.Request, options.Value.Limits.MaxFrameSize, context.RequestAborted);
        return body.ValueKind == JsonValueKind.Object ? body : throw PushRecipients.Invalid($"{what} must be an object");
    }

    private static string? StringField(JsonElement body, string name) =>
        body.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String && value.GetString() is { Length: > 0 } s ? s : null;

    private static string? Param(IQueryCollection query, string name) => query[name].ToString() is { Length: > 0 } value ? value : null;

    private static int Limit(IQueryCollection query)
    {
        if (Param(query, "limit") is not { } text)
        {
            return DefaultLimit;
        }

        return int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var limit) && limit is >= 1 and <= MaxLimit
            ? limit
            : throw new ProtocolException(ErrorCodes.InvalidParameterValue, $"limit must be an integer from 1 to {MaxLimit}");
    }

    /// <summary>Link entries as ably-js parses them: the same query with <c>cursor</c>, the last key of this page.</summary>
    private static string Link(string resource, IQueryCollection query, string? next)
    {
        var first = string.Join("&", query.Where(q => q.Key != "cursor").Select(q => $"{Uri.EscapeDataString(q.Key)}={Uri.EscapeDataString(q.Value.ToString())}"));
        var link = $"<./{resource}?{first}>; rel=\"first\", <./{resource}?{first}>; rel=\"current\"";
        return next is null ? link : link + $", <./{resource}?{first}{(first.Length > 0 ? "&" : string.Empty)}cursor={Uri.EscapeDataString(next)}>; rel=\"next\"";
    }
}
