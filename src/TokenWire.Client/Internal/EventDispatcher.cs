using System.Threading.Channels;
using Microsoft.Extensions.Logging;

namespace TokenWire.Client.Internal;

/// <summary>
/// Runs user callbacks (state-change events, subscription handlers) one at a time, in the order they were posted,
/// on a background loop. The connection's read loop and state machine post under their lock and never wait for user
/// code, so a slow or blocking handler cannot stall the socket, delay ACKs or deadlock on a publish it awaits.
/// </summary>
internal sealed class EventDispatcher
{
    private readonly Channel<Action> _queue = Channel.CreateUnbounded<Action>(new UnboundedChannelOptions
    {
        SingleReader = true,
        AllowSynchronousContinuations = false,
    });

    private readonly ILogger _logger;

    public EventDispatcher(ILogger logger)
    {
        _logger = logger;
        Completion = Task.Run(RunAsync);
    }

    public Task Completion { get; }

    public void Post(Action callback) => _queue.Writer.TryWrite(callback);

    /// <summary>Stops accepting callbacks; those already posted still run.</summary>
    public void Complete() => _queue.Writer.TryComplete();

    private async Task RunAsync()
    {
        var reader = _queue.Reader;
        while (await reader.WaitToReadAsync().ConfigureAwait(false))
        {
            while (reader.TryRead(out var callback))
            {
                try
                {
                    callback();
                }
                catch (Exception ex)
                {
                    ClientLog.CallbackFailed(_logger, ex);
                }
            }
        }
    }
}
