using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StackExchange.Redis;
using TokenWire.Server.Configuration;

namespace TokenWire.Redis;

/// <summary>
/// The node's one multiplexer to Redis. It never gives up: with <c>AbortOnConnectFail=false</c> a node starts (and
/// stays up) while Redis is unreachable, reconnects by itself, and reports the state in logs and on <c>/health</c>.
/// Commands issued during a short outage wait in StackExchange.Redis's backlog up to the command timeout
/// (<c>asyncTimeout</c>, 5 s by default), then fail; the publish paths retry them until <c>TokenWire:EngineOutageWait</c>
/// has passed since they were first tried (see <c>LogWriter</c>), so the longer of the two bounds an outage's wait.
/// </summary>
public sealed partial class RedisConnection : IDisposable
{
    /// <summary>Retry quickly at first (a restarting Redis is back within a second), then at most every 5 s.</summary>
    private static readonly ExponentialRetry RetryPolicy = new(deltaBackOffMilliseconds: 250, maxDeltaBackOffMilliseconds: 5000);

    private readonly ILogger _logger;
    private readonly Lock _gate = new();

    /// <summary>The links (interactive, subscription) currently down, and since when the first of them was.</summary>
    private readonly HashSet<ConnectionType> _down = [];
    private long _downSince;

    public RedisConnection(RedisEngineOptions engine, IOptions<TokenWireOptions> options, ILogger<RedisConnection> logger)
    {
        _logger = logger;
        var configuration = Configure(engine.Configuration, options.Value.ServerId);

        // Never the string as given: it may carry password=… (logs and /health show this description).
        Description = configuration.ToString(includePassword: false);
        Multiplexer = ConnectionMultiplexer.Connect(configuration);
        Multiplexer.ConnectionFailed += (_, e) => OnFailed(e);
        Multiplexer.ConnectionRestored += (_, e) => OnRestored(e);
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

    /// <summary>
    /// The multiplexer reports every failed reconnection attempt (each <c>LOADING</c> reply while Redis reads its AOF is
    /// one) for each of its links (commands, pub/sub): only the first loss and the final restoration are logged.
    /// </summary>
    private void OnFailed(ConnectionFailedEventArgs e)
    {
        lock (_gate)
        {
            var wasUp = _down.Count == 0;
            _down.Add(e.ConnectionType);
            if (!wasUp)
            {
                return;
            }

            _downSince = TimeProvider.System.GetTimestamp();
        }

        // The reason is in the failure type and message; a stack trace says nothing for a network event.
        ConnectionLost(_logger, Description, e.FailureType.ToString(), e.ConnectionType.ToString());
    }

    private void OnRestored(ConnectionFailedEventArgs e)
    {
        TimeSpan outage;
        lock (_gate)
        {
            if (!_down.Remove(e.ConnectionType) || _down.Count > 0)
            {
                return;
            }

            outage = TimeProvider.System.GetElapsedTime(_downSince);
        }

        ConnectionBack(_logger, Description, outage.TotalSeconds);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Redis engine: connected to {Redis} (key prefix '{Prefix}')")]
    private static partial void Connected(ILogger logger, string redis, string prefix);

    [LoggerMessage(Level = LogLevel.Error, Message = "Redis engine: {Redis} is unreachable; publishes are refused (retriable) and resumes refused until it is back. Retrying in the background.")]
    private static partial void Unreachable(ILogger logger, string redis);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Redis engine: connection to {Redis} lost ({Failure} on the {Link} link); reconnecting. Publishes wait for it (TokenWire:EngineOutageWait)")]
    private static partial void ConnectionLost(ILogger logger, string redis, string failure, string link);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Redis engine: connection to {Redis} restored after {Seconds:0.0} s")]
    private static partial void ConnectionBack(ILogger logger, string redis, double seconds);
}
