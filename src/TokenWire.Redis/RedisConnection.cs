using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StackExchange.Redis;
using TokenWire.Server.Configuration;

namespace TokenWire.Redis;

/// <summary>
/// The node's one multiplexer to Redis. It never gives up: with <c>AbortOnConnectFail=false</c> a node starts (and
/// stays up) while Redis is unreachable, reconnects by itself, and reports the state in logs and on <c>/health</c>.
/// Commands issued during a short outage wait in StackExchange.Redis's backlog up to the command timeout, then fail.
/// </summary>
public sealed partial class RedisConnection : IDisposable
{
    /// <summary>Retry quickly at first (a restarting Redis is back within a second), then at most every 5 s.</summary>
    private static readonly ExponentialRetry RetryPolicy = new(deltaBackOffMilliseconds: 250, maxDeltaBackOffMilliseconds: 5000);

    private readonly ILogger _logger;

    public RedisConnection(RedisEngineOptions engine, IOptions<TokenWireOptions> options, ILogger<RedisConnection> logger)
    {
        _logger = logger;
        var configuration = Configure(engine.Configuration, options.Value.ServerId);

        // Never the string as given: it may carry password=… (logs and /health show this description).
        Description = configuration.ToString(includePassword: false);
        Multiplexer = ConnectionMultiplexer.Connect(configuration);
        Multiplexer.ConnectionFailed += (_, e) => ConnectionLost(_logger, e.Exception, Description, e.FailureType.ToString());
        Multiplexer.ConnectionRestored += (_, _) => ConnectionBack(_logger, Description);
        if (Multiplexer.IsConnected)
        {
            Connected(_logger, Description, engine.KeyPrefix);
        }
        else
        {
            Unreachable(_logger, Description);
        }
    }

    public IConnectionMultiplexer Multiplexer { get; }

    /// <summary>The configuration (<c>host:port[,option=value…]</c>) without its password, for messages.</summary>
    public string Description { get; }

    /// <summary>The engine's settings on top of the operator's configuration string.</summary>
    public static ConfigurationOptions Configure(string configuration, string clientName)
    {
        ConfigurationOptions options;
        try
        {
            options = ConfigurationOptions.Parse(configuration);
        }
        catch (ArgumentException ex)
        {
            // Not echoing the string: it may hold a password.
            throw new InvalidOperationException($"TokenWire:Redis is not a valid Redis configuration (expected host:port[,option=value…]): {ex.Message}", ex);
        }

        options.AbortOnConnectFail = false;
        options.ReconnectRetryPolicy = RetryPolicy;
        options.ClientName ??= clientName;
        return options;
    }

    public void Dispose() => Multiplexer.Dispose();

    [LoggerMessage(Level = LogLevel.Information, Message = "Redis engine: connected to {Redis} (key prefix '{Prefix}')")]
    private static partial void Connected(ILogger logger, string redis, string prefix);

    [LoggerMessage(Level = LogLevel.Error, Message = "Redis engine: {Redis} is unreachable; publishes are rejected (retriable) and resumes refused until it is back. Retrying in the background.")]
    private static partial void Unreachable(ILogger logger, string redis);

    [LoggerMessage(Level = LogLevel.Error, Message = "Redis engine: connection to {Redis} lost ({Failure}); publishes are rejected until it is back")]
    private static partial void ConnectionLost(ILogger logger, Exception? exception, string redis, string failure);

    [LoggerMessage(Level = LogLevel.Information, Message = "Redis engine: connection to {Redis} restored")]
    private static partial void ConnectionBack(ILogger logger, string redis);
}
