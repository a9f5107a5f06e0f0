using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;
using TokenWire.Client;

namespace TokenWire.Agent.Hosting;

/// <summary>Runs an <see cref="AgentWorker"/> until stopped, reconnecting after failures with a short backoff.</summary>
public static partial class AgentRunner
{
    private static readonly TimeSpan RetryDelay = TimeSpan.FromSeconds(2);

    public static async Task RunAsync(RealtimeClientOptions clientOptions, IChatClient model, AgentOptions options, ILoggerFactory loggers, CancellationToken cancellationToken, AgentMetrics? metrics = null)
    {
        var logger = loggers.CreateLogger(typeof(AgentRunner).FullName!);
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                await using var client = new RealtimeClient(clientOptions);
                await client.ConnectAsync(cancellationToken);
                await new AgentWorker(client, model, options, loggers, metrics).RunAsync(cancellationToken);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (AblyException ex) when (ex.Code is >= 50000 and < 60000 || ex.StatusCode >= 500)
            {
                // The server is unavailable for now (e.g. its Redis is away): expected, retried, no stack trace.
                AgentUnavailable(logger, ex.Message);
                await Task.Delay(RetryDelay, cancellationToken).ContinueWith(static _ => { }, TaskScheduler.Default);
            }
            catch (Exception ex)
            {
                AgentFailed(logger, ex);
                await Task.Delay(RetryDelay, cancellationToken).ContinueWith(static _ => { }, TaskScheduler.Default);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "The agent stopped unexpectedly; restarting")]
    private static partial void AgentFailed(ILogger logger, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The agent cannot reach the server for now ({Reason}); retrying")]
    private static partial void AgentUnavailable(ILogger logger, string reason);
}
