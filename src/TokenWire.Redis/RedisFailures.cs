using StackExchange.Redis;
using TokenWire.Server.Engine;

namespace TokenWire.Redis;

/// <summary>Which Redis failures mean "not reachable or not ready yet": retriable, the command may or may not have run.</summary>
internal static class RedisFailures
{
    /// <summary>
    /// Replies of a Redis that is up but cannot serve yet: loading its dataset (a restart with AOF), a replica being
    /// promoted or still read-only during a failover, a long script blocking it, a cluster slot moving.
    /// </summary>
    private static readonly string[] NotReadyReplies = ["LOADING", "MASTERDOWN", "READONLY", "BUSY", "TRYAGAIN", "CLUSTERDOWN", "NOREPLICAS"];

    public static bool IsUnavailable(Exception exception) => exception switch
    {
        RedisConnectionException or TimeoutException => true,
        RedisServerException server => IsNotReady(server.Message),
        _ => false,
    };

    /// <summary>The engine-neutral form of an <see cref="IsUnavailable"/> failure of <paramref name="store"/>.</summary>
    public static EngineUnavailableException Unavailable(string store, Exception exception) =>
        new($"The {store} (Redis) is unavailable: {Describe(exception)}", exception);

    /// <summary>A short reason for logs and errors (StackExchange.Redis messages run to a screenful of diagnostics).</summary>
    public static string Describe(Exception exception) => exception switch
    {
        RedisConnectionException connection => $"connection {connection.FailureType}",
        TimeoutException => "timed out",
        _ => FirstWords(exception.Message),
    };

    private static string FirstWords(string message) => message.Length <= 80 ? message : string.Concat(message.AsSpan(0, 80), "…");

    private static bool IsNotReady(string reply)
    {
        foreach (var prefix in NotReadyReplies)
        {
            if (reply.StartsWith(prefix, StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }
}
