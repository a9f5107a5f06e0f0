using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace TokenWire.Client;

/// <summary>
/// Options for <see cref="RealtimeClient"/> and <see cref="RestClient"/>, shaped like Ably's ClientOptions.
/// Start from <see cref="Default"/> and customise with <c>with</c>:
/// <code>var options = RealtimeClientOptions.Default with { Key = "app.key:secret", Endpoint = "127.0.0.1", Port = 8080, Tls = false };</code>
/// </summary>
public sealed record RealtimeClientOptions
{
    public static RealtimeClientOptions Default { get; } = new();

    /// <summary>API key <c>appId.keyId:secret</c>: Basic auth on REST, <c>key</c> on the WebSocket.</summary>
    public string? Key { get; init; }

    /// <summary>
    /// Token auth extension point: returns a token string (an Ably token or a JWT), sent as <c>access_token</c> on the
    /// WebSocket and as <c>Authorization: Bearer base64(token)</c> on REST. Called before the first connection and
    /// again whenever the server reports a token error (40140-40149). Takes precedence over <see cref="Key"/>.
    /// </summary>
    public Func<CancellationToken, ValueTask<string>>? AuthCallback { get; init; }

    /// <summary>The identity to claim (<c>clientId</c> query parameter, <c>X-Ably-ClientId</c> header).</summary>
    public string? ClientId { get; init; }

    /// <summary>Host name or IP address of the server; REST and realtime share it (reference §1.3).</summary>
    public string Endpoint { get; init; } = "localhost";

    /// <summary>Port; null means 443 with <see cref="Tls"/>, 80 without.</summary>
    public int? Port { get; init; }

    public bool Tls { get; init; } = true;

    /// <summary>MessagePack frames and REST bodies (true) or JSON (false).</summary>
    public bool UseBinaryProtocol { get; init; } = true;

    /// <summary>When false the server does not deliver this connection's own publishes back to it.</summary>
    public bool EchoMessages { get; init; } = true;

    /// <summary>
    /// Extra query parameters of the realtime connection (Ably's <c>transportParams</c>), added last, e.g.
    /// <c>["appendRollupWindow"] = "0"</c> to have every append delivered on its own.
    /// </summary>
    public IReadOnlyDictionary<string, string>? TransportParams { get; init; }

    /// <summary>Connect on first use (attach, publish) instead of waiting for an explicit <c>ConnectAsync</c>.</summary>
    public bool AutoConnect { get; init; } = true;

    /// <summary>Queue publishes made while connecting or disconnected and send them once connected (Ably queueMessages).</summary>
    public bool QueueMessages { get; init; } = true;

    /// <summary>Delay between connection attempts while disconnected. The first retry after losing a connected
    /// transport is immediate; later ones back off up to twice this, with 0.8-1.0 jitter (reference §1.5).</summary>
    public TimeSpan DisconnectedRetryTimeout { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>Delay between connection attempts once suspended.</summary>
    public TimeSpan SuspendedRetryTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Deadline for opening the WebSocket, for CONNECTED, ATTACHED, DETACHED, CLOSED and ping replies; also
    /// the slack added to the server's maxIdleInterval before an idle transport is dropped.</summary>
    public TimeSpan RealtimeRequestTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Delay before re-attaching a channel whose attach timed out (channel SUSPENDED).</summary>
    public TimeSpan ChannelRetryTimeout { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>How long the connection stays DISCONNECTED before SUSPENDED; the server's connectionDetails override it.</summary>
    public TimeSpan ConnectionStateTtl { get; init; } = TimeSpan.FromMinutes(2);

    public TimeSpan HttpRequestTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Capacity of each <c>SubscribeAsync</c> buffer. When a consumer falls this far behind, new messages
    /// for it are dropped and <see cref="RealtimeChannel.MessageDropped"/> is raised; the connection never blocks.</summary>
    public int SubscriptionCapacity { get; init; } = 16_384;

    /// <summary>Serializes publish data and extras that are neither string, bytes nor JSON DOM values.</summary>
    public JsonSerializerOptions JsonSerializerOptions { get; init; } = JsonSerializerOptions.Web;

    public ILoggerFactory LoggerFactory { get; init; } = NullLoggerFactory.Instance;

    internal int EffectivePort => Port ?? (Tls ? 443 : 80);

    internal void Validate()
    {
        if (AuthCallback is null)
        {
            if (string.IsNullOrEmpty(Key))
            {
                throw new ArgumentException("Set Key (appId.keyId:secret) or AuthCallback.", nameof(Key));
            }

            var colon = Key.IndexOf(':', StringComparison.Ordinal);
            if (colon <= 0 || colon == Key.Length - 1 || Key.AsSpan(colon + 1).IndexOfAny(":. \t\r\n") >= 0
                || Key.AsSpan(0, colon).IndexOfAny(" \t\r\n") >= 0)
            {
                throw new ArgumentException("Key must have the form appId.keyId:secret.", nameof(Key));
            }
        }

        if (string.IsNullOrWhiteSpace(Endpoint))
        {
            throw new ArgumentException("Endpoint must be a host name or IP address.", nameof(Endpoint));
        }

        if (Port is <= 0 or > 65535)
        {
            throw new ArgumentOutOfRangeException(nameof(Port), Port, "Port must be 1-65535.");
        }

        if (ClientId is "*")
        {
            throw new ArgumentException("ClientId '*' is only valid inside a token.", nameof(ClientId));
        }

        RequirePositive(RealtimeRequestTimeout, nameof(RealtimeRequestTimeout));
        RequirePositive(DisconnectedRetryTimeout, nameof(DisconnectedRetryTimeout));
        RequirePositive(SuspendedRetryTimeout, nameof(SuspendedRetryTimeout));
        RequirePositive(ChannelRetryTimeout, nameof(ChannelRetryTimeout));
        RequirePositive(ConnectionStateTtl, nameof(ConnectionStateTtl));
        RequirePositive(HttpRequestTimeout, nameof(HttpRequestTimeout));
        ArgumentOutOfRangeException.ThrowIfLessThan(SubscriptionCapacity, 1, nameof(SubscriptionCapacity));
        ArgumentNullException.ThrowIfNull(JsonSerializerOptions);
        ArgumentNullException.ThrowIfNull(LoggerFactory);
    }

    private static void RequirePositive(TimeSpan value, string name)
    {
        if (value <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(name, value, $"{name} must be positive.");
        }
    }
}
