using System.Diagnostics;
using System.Globalization;
using TokenWire.Protocol;

namespace TokenWire.Client;

/// <summary>Ping: HEARTBEAT with an id, echoed by the server (reference §4.3).</summary>
public sealed partial class Connection
{
    private readonly Dictionary<string, TaskCompletionSource> _pings = new(StringComparer.Ordinal);

    /// <summary>Round-trip time of a HEARTBEAT. Requires CONNECTED; times out after RealtimeRequestTimeout (50003).</summary>
    public async Task<TimeSpan> PingAsync(CancellationToken cancellationToken = default)
    {
        var id = Random.Shared.NextInt64(1, long.MaxValue).ToString(CultureInfo.InvariantCulture);
        var reply = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        long started;
        lock (Gate)
        {
            if (_state != ConnectionState.Connected)
            {
                throw new AblyException(ErrorCodes.BadRequest, "Unable to ping: not connected");
            }

            _pings[id] = reply;
            started = Stopwatch.GetTimestamp();
            SendLocked(new ProtocolMessage(ProtocolAction.Heartbeat) { Id = id });
        }

        try
        {
            await reply.Task.WaitAsync(_options.RealtimeRequestTimeout, cancellationToken).ConfigureAwait(false);
            return Stopwatch.GetElapsedTime(started);
        }
        catch (TimeoutException ex)
        {
            throw new AblyException(ErrorCodes.ServiceUnavailable, $"No ping reply within {_options.RealtimeRequestTimeout}", ex);
        }
        finally
        {
            lock (Gate)
            {
                _pings.Remove(id);
            }
        }
    }

    private void OnHeartbeat(ProtocolMessage message)
    {
        if (message.Id is not { } id)
        {
            return;
        }

        lock (Gate)
        {
            if (_pings.Remove(id, out var reply))
            {
                reply.TrySetResult();
            }
        }
    }

    private void FailPingsLocked(ErrorInfo reason)
    {
        foreach (var reply in _pings.Values)
        {
            reply.TrySetException(new AblyException(reason));
        }

        _pings.Clear();
    }
}
