using System.Reflection;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace TokenWire.Server.Hosting;

/// <summary>
/// Switches the node to the Redis scale-out engine when <c>TokenWire:Redis</c> is configured (<c>--redis host:port</c>,
/// <c>TokenWire__Redis</c>, appsettings). TokenWire.Redis references this assembly (it implements the engine seams), so
/// this one cannot reference it back: the engine is loaded from <c>TokenWire.Redis.dll</c> beside the server, where
/// building the solution (or publishing TokenWire.Redis into the server's directory) puts it.
/// </summary>
public static class ScaleOutEngine
{
    public const string RedisKey = "TokenWire:Redis";

    public const string RedisKeyPrefixKey = "TokenWire:RedisKeyPrefix";

    /// <summary>Command-line switches with a short form: <c>--redis host:port</c>.</summary>
    public static IDictionary<string, string> SwitchMappings { get; } = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["--redis"] = RedisKey,
    };

    /// <summary>Replaces the embedded engine when a scale-out engine is configured; otherwise does nothing.</summary>
    public static IServiceCollection AddConfiguredScaleOutEngine(this IServiceCollection services, IConfiguration configuration)
    {
        if (configuration[RedisKey] is not { Length: > 0 } redis)
        {
            return services;
        }

        var path = Path.Combine(AppContext.BaseDirectory, "TokenWire.Redis.dll");
        if (!File.Exists(path))
        {
            throw new InvalidOperationException(
                $"{RedisKey} is set ('{redis}') but the Redis engine is not installed: {path} is missing. Build the solution " +
                "(dotnet build TokenWire.sln), or publish src/TokenWire.Redis into the server's directory.");
        }

        // LoadFrom resolves the engine's own dependencies (StackExchange.Redis…) from the same directory.
        var extensions = Assembly.LoadFrom(path).GetType("TokenWire.Redis.RedisServiceCollectionExtensions", throwOnError: true)!;
        var add = extensions.GetMethod("AddTokenWireRedis", [typeof(IServiceCollection), typeof(string), typeof(string)])
            ?? throw new InvalidOperationException($"{path} has no AddTokenWireRedis(IServiceCollection, string, string)");
        add.Invoke(null, [services, redis, configuration[RedisKeyPrefixKey] is { Length: > 0 } prefix ? prefix : "tokenwire:"]);
        return services;
    }
}
