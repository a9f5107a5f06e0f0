using Microsoft.Extensions.Logging;
using TokenWire.Client.Internal;
using TokenWire.Protocol;

namespace TokenWire.Client;

/// <summary>
/// A realtime channel's presence (spec RTP, reference §4.11): enter, update and leave for this client or, with a key
/// or a wildcard token, for any clientId; the member set kept up to date from PRESENCE and SYNC; events as handlers or
/// <c>await foreach</c>; automatic re-entry of this connection's members after every re-attach (RTP17). Presence
/// operations attach the channel first and are acknowledged like publishes (ACK/NACK by msgSerial).
/// </summary>
public sealed partial class RealtimePresence
{
    private readonly RealtimeChannel _channel;
    private readonly Connection _connection;
    private readonly RestClient _rest;
    private readonly RealtimeClientOptions _options;
    private readonly ILogger _logger;

    internal RealtimePresence(RealtimeChannel channel, Connection connection, RestClient rest, EventDispatcher events, RealtimeClientOptions options)
    {
        _channel = channel;
        _connection = connection;
        _rest = rest;
        _options = options;
        _logger = options.LoggerFactory.CreateLogger<RealtimePresence>();
        _subscribers = new SubscriberList<PresenceMessage>(connection.Gate, events);
    }

    /// <summary>True once the member set is complete: the SYNC after the latest attach has ended.</summary>
    public bool SyncComplete
    {
        get
        {
            lock (Gate)
            {
                return _syncComplete;
            }
        }
    }

    private Lock Gate => _connection.Gate;

    /// <summary>Enters this client (its clientId comes from the options or the token) with optional data.</summary>
    public Task EnterAsync(object? data = null, CancellationToken cancellationToken = default) =>
        SendAsync(PresenceAction.Enter, null, data, cancellationToken);

    /// <summary>Updates this client's data; enters it if it is not present.</summary>
    public Task UpdateAsync(object? data = null, CancellationToken cancellationToken = default) =>
        SendAsync(PresenceAction.Update, null, data, cancellationToken);

    /// <summary>Leaves, with optional data for the LEAVE event.</summary>
    public Task LeaveAsync(object? data = null, CancellationToken cancellationToken = default) =>
        SendAsync(PresenceAction.Leave, null, data, cancellationToken);

    /// <summary>Enters <paramref name="clientId"/> on behalf of another client (needs a key or a wildcard clientId).</summary>
    public Task EnterClientAsync(string clientId, object? data = null, CancellationToken cancellationToken = default) =>
        SendAsync(PresenceAction.Enter, ValidClientId(clientId), data, cancellationToken);

    public Task UpdateClientAsync(string clientId, object? data = null, CancellationToken cancellationToken = default) =>
        SendAsync(PresenceAction.Update, ValidClientId(clientId), data, cancellationToken);

    public Task LeaveClientAsync(string clientId, object? data = null, CancellationToken cancellationToken = default) =>
        SendAsync(PresenceAction.Leave, ValidClientId(clientId), data, cancellationToken);

    /// <summary>
    /// The current members (action PRESENT), optionally filtered. Attaches the channel if needed and, with
    /// <paramref name="waitForSync"/>, waits until the SYNC that follows the attach has delivered every page.
    /// </summary>
    /// <exception cref="AblyException">The channel is failed, or suspended while waiting for a SYNC (91005).</exception>
    public async Task<IReadOnlyList<PresenceMessage>> GetAsync(string? clientId = null, string? connectionId = null, bool waitForSync = true, CancellationToken cancellationToken = default)
    {
        bool attach;
        lock (Gate)
        {
            var state = _channel.StateLocked;
            if (state == ChannelState.Failed)
            {
                throw new AblyException(_channel.ErrorReasonLocked ?? ErrorCodes.Create(90001, $"Channel '{_channel.Name}' failed"));
            }

            if (state == ChannelState.Suspended && waitForSync)
            {
                throw new AblyException(OutOfSync());
            }

            attach = state != ChannelState.Attached && state != ChannelState.Suspended;
        }

        if (attach)
        {
            await _channel.AttachAsync(cancellationToken).ConfigureAwait(false);
        }

        Task? sync = null;
        lock (Gate)
        {
            if (waitForSync && !_syncComplete)
            {
                var waiter = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                _syncWaiters.Add(waiter);
                sync = waiter.Task;
            }
            else
            {
                return _members.Snapshot(clientId, connectionId);
            }
        }

        await sync.WaitAsync(cancellationToken).ConfigureAwait(false);
        lock (Gate)
        {
            return _members.Snapshot(clientId, connectionId);
        }
    }

    /// <summary>
    /// A page of presence history over REST (reference §5.6). With <see cref="HistoryRequest.UntilAttach"/> only
    /// events up to the channel's attach point are returned.
    /// </summary>
    public Task<PaginatedResult<PresenceMessage>> HistoryAsync(HistoryRequest? request = null, CancellationToken cancellationToken = default)
    {
        request ??= HistoryRequest.Default;
        string? fromSerial = null;
        if (request.UntilAttach && !_channel.TryGetAttachSerial(out fromSerial, out var error))
        {
            return Task.FromException<PaginatedResult<PresenceMessage>>(error);
        }

        return _rest.PresenceHistoryCoreAsync(_channel.Name, request, fromSerial, cancellationToken);
    }

    private async Task SendAsync(PresenceAction action, string? clientId, object? data, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var (payload, encoding) = PayloadCodec.EncodeData(data, _options.JsonSerializerOptions);
        var item = new PresenceMessage { Action = action, ClientId = clientId, Data = payload, Encoding = encoding };
        var max = _connection.MaxMessageSize;
        if (item.Size > max)
        {
            throw new AblyException(ErrorCodes.MessageTooLarge, $"Presence message size {item.Size} exceeds the maximum of {max} bytes");
        }

        bool attach;
        lock (Gate)
        {
            // RTP8g, RTP10: presence needs the channel attached or on its way there.
            var state = _channel.StateLocked;
            attach = state switch
            {
                ChannelState.Attached => false,
                ChannelState.Initialized or ChannelState.Attaching => true,
                _ => throw new AblyException(91001, $"Unable to {action.ToString().ToLowerInvariant()} presence on channel '{_channel.Name}' while it is {state.ToString().ToLowerInvariant()}"),
            };
        }

        if (attach)
        {
            await _channel.AttachAsync(cancellationToken).ConfigureAwait(false);
        }

        await _connection.PublishAsync(new ProtocolMessage(ProtocolAction.Presence) { Channel = _channel.Name, Presence = [item] }, cancellationToken).ConfigureAwait(false);
    }

    private static string ValidClientId(string clientId)
    {
        ArgumentException.ThrowIfNullOrEmpty(clientId);
        if (clientId == "*")
        {
            throw new ArgumentException("'*' is not a clientId that can be present.", nameof(clientId));
        }

        return clientId;
    }

    private ErrorInfo OutOfSync() =>
        ErrorCodes.Create(91005, $"Presence state of channel '{_channel.Name}' is out of sync because the channel is suspended");
}
