using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using TokenWire.Server.Annotations;
using TokenWire.Server.Auth;
using TokenWire.Server.Configuration;
using TokenWire.Server.Connections;
using TokenWire.Server.Engine;
using TokenWire.Server.Log;
using TokenWire.Server.Presence;
using TokenWire.Server.Push;
using TokenWire.Server.Stats;

namespace TokenWire.Redis;

public static class RedisServiceCollectionExtensions
{
    /// <summary>
    /// Switches the node to the Redis engine: the message log, the bus, presence, the connection store, the token
    /// revocation list and the per-app connection counts all live in the Redis at <paramref name="configuration"/>
    /// (<c>host:port[,option=value…]</c>), shared by every node with the same <paramref name="keyPrefix"/>. Replaces
    /// the embedded engine's registrations whether called before or after
    /// <c>AddTokenWire</c>, and adds a <c>redis</c> health check.
    /// </summary>
    public static IServiceCollection AddTokenWireRedis(this IServiceCollection services, string configuration, string keyPrefix = RedisKeys.DefaultPrefix) =>
        services.AddTokenWireRedis(new RedisEngineOptions(configuration, keyPrefix));

    /// <inheritdoc cref="AddTokenWireRedis(IServiceCollection, string, string)"/>
    public static IServiceCollection AddTokenWireRedis(this IServiceCollection services, RedisEngineOptions engine)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(engine.Configuration);
        services.AddSingleton(engine);
        services.AddSingleton(new RedisKeys(engine.KeyPrefix));
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton(_ => new NodeInstance());
        services.AddSingleton<RedisConnection>();
        services.AddMetrics();
        services.AddSingleton<RedisMetrics>();
        services.AddSingleton(sp => new RedisMessageLog(
            sp.GetRequiredService<RedisConnection>().Multiplexer,
            sp.GetRequiredService<RedisKeys>(),
            sp.GetRequiredService<TimeProvider>(),
            ForgetIdleAfter(sp.GetRequiredService<IOptions<TokenWireOptions>>().Value),
            sp.GetRequiredService<RedisMetrics>()));

        services.RemoveAll<IMessageLog>();
        services.AddSingleton<IMessageLog>(sp => sp.GetRequiredService<RedisMessageLog>());
        services.RemoveAll<IMessageBus>();
        services.AddSingleton<IMessageBus>(sp => new RedisMessageBus(
            sp.GetRequiredService<RedisConnection>().Multiplexer,
            sp.GetRequiredService<RedisKeys>(),
            sp.GetRequiredService<ILogger<RedisMessageBus>>()));
        services.RemoveAll<IPresenceStore>();
        services.AddSingleton<IPresenceStore>(sp => new RedisPresenceStore(
            sp.GetRequiredService<RedisConnection>().Multiplexer,
            sp.GetRequiredService<RedisKeys>(),
            sp.GetRequiredService<ILogger<RedisPresenceStore>>(),
            sp.GetRequiredService<RedisMetrics>()));
        services.AddSingleton(sp => new RedisNodeHeartbeat(
            sp.GetRequiredService<RedisConnection>().Multiplexer,
            sp.GetRequiredService<RedisKeys>(),
            sp.GetRequiredService<NodeInstance>(),
            engine,
            sp.GetRequiredService<IOptions<TokenWireOptions>>().Value.ServerId,
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<ILogger<RedisNodeHeartbeat>>()));
        services.AddHostedService(sp => sp.GetRequiredService<RedisNodeHeartbeat>());
        services.AddSingleton(sp => ActivatorUtilities.CreateInstance<RedisPresenceSweeper>(sp, sp.GetRequiredService<RedisConnection>().Multiplexer));
        services.AddHostedService(sp => sp.GetRequiredService<RedisPresenceSweeper>());
        services.RemoveAll<IAnnotationStore>();
        services.AddSingleton<IAnnotationStore>(sp => new RedisAnnotationStore(
            sp.GetRequiredService<RedisConnection>().Multiplexer,
            sp.GetRequiredService<RedisKeys>(),
            sp.GetRequiredService<ILogger<RedisAnnotationStore>>()));
        services.RemoveAll<IConnectionStore>();
        services.AddSingleton<IConnectionStore>(sp => ActivatorUtilities.CreateInstance<RedisConnectionStore>(sp, sp.GetRequiredService<RedisConnection>().Multiplexer));
        services.RemoveAll<ITokenRevocationStore>();
        services.AddSingleton(sp => new RedisTokenRevocationStore(
            sp.GetRequiredService<RedisConnection>().Multiplexer,
            sp.GetRequiredService<RedisKeys>(),
            sp.GetRequiredService<TimeProvider>(),
            logger: sp.GetRequiredService<ILogger<RedisTokenRevocationStore>>()));
        services.AddSingleton<ITokenRevocationStore>(sp => sp.GetRequiredService<RedisTokenRevocationStore>());
        services.AddHostedService(sp => sp.GetRequiredService<RedisTokenRevocationStore>());
        services.RemoveAll<IClusterConnectionCounts>();
        services.AddSingleton(RedisConnectionCounts.Create);
        services.AddSingleton<IClusterConnectionCounts>(sp => sp.GetRequiredService<RedisConnectionCounts>());
        services.AddHostedService(sp => sp.GetRequiredService<RedisConnectionCounts>());
        services.RemoveAll<IStatsStore>();
        services.AddSingleton<IStatsStore>(sp => new RedisStatsStore(sp.GetRequiredService<RedisConnection>().Multiplexer, sp.GetRequiredService<RedisKeys>()));
        services.RemoveAll<IPushRegistry>();
        services.AddSingleton<IPushRegistry>(sp => new RedisPushRegistry(sp.GetRequiredService<RedisConnection>().Multiplexer, sp.GetRequiredService<RedisKeys>()));
        services.AddHealthChecks().AddCheck<RedisHealthCheck>("redis");
        return services;
    }

    /// <summary>As the embedded engine: channel epochs outlive resumable connections, so a client's channelSerial stays meaningful.</summary>
    private static TimeSpan ForgetIdleAfter(TokenWireOptions options) =>
        options.Connection.StateTtl * 2 > options.History.DefaultRetention ? options.Connection.StateTtl * 2 : options.History.DefaultRetention;
}
