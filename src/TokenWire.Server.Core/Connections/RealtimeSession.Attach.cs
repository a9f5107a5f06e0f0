using TokenWire.Protocol;
using TokenWire.Protocol.Serials;
using TokenWire.Server.Auth;
using TokenWire.Server.Channels;
using TokenWire.Server.Diagnostics;
using TokenWire.Server.Engine;

namespace TokenWire.Server.Connections;

/// <summary>ATTACH / DETACH (reference §4.5-§4.7).</summary>
public sealed partial class RealtimeSession
{
    private async Task HandleAttachAsync(ProtocolMessage message, CancellationToken cancellationToken)
    {
        var name = message.Channel;
        using var activity = ServerTelemetry.StartRoot("tokenwire.attach");
        activity?.SetTag("messaging.destination.name", name);
        activity?.SetTag("tokenwire.connection.id", ConnectionId);
        try
        {
            ChannelNames.Validate(name);
        }
        catch (ProtocolException ex)
        {
            ChannelError(name, ex.Error);
            return;
        }

        var operations = Connection.Auth.Capability.OperationsFor(name!);
        if (operations == ChannelOperation.None)
        {
            ChannelError(name, ErrorCodes.Create(ErrorCodes.OperationNotPermitted, $"Permission denied: no capability for channel '{name}'"));
            return;
        }

        if (!AttachParameters.TryParse(message.Params, out var parameters, out var paramError))
        {
            ChannelError(name, paramError!);
            return;
        }

        var request = parameters.Request;
        var acceptedParams = parameters.Echoed;
        var requested = parameters.Modes ?? message.Flags & ProtocolFlags.AllModes;
        var modes = AttachModes.Grant(requested, operations);
        if (message.HasFlag(ProtocolFlags.AttachResume))
        {
            // A re-attach that continues an attachment replays the gap, never the rewind again.
            request = request with { RewindCount = null, RewindAge = null };
        }

        if (_attachments.TryGet(name!, out var existing))
        {
            await ReattachAsync(name!, existing, modes, requested, parameters, cancellationToken).ConfigureAwait(false);
            return;
        }

        var maxChannels = _services.Options.Limits.MaxChannelsPerConnection;
        if (maxChannels > 0 && _attachments.Count >= maxChannels)
        {
            ChannelError(name, ErrorCodes.Create(ErrorCodes.TooManyChannels, $"Maximum number of channels per connection ({maxChannels}) exceeded"));
            return;
        }

        if (message.ChannelSerial is { } serial)
        {
            // An unparsable serial can never match a live epoch, so it is reported as continuity lost.
            request = request with { ResumeFrom = LogPosition.TryParse(serial, out var from) ? from : new LogPosition(string.Empty, 0) };
        }

        var channel = _services.Channels.Acquire(new ChannelKey(Connection.Auth.App.Id, name!));
        var subscriber = (modes & ProtocolFlags.Subscribe) != 0 ? new ChannelSubscriber(_transport, modes, parameters.WholeAppends) : null;
        var presenceSubscriber = new ChannelSubscriber(_transport, modes);
        IReadOnlyList<PresenceMessage> members = [];
        try
        {
            // Presence seam: follow events (held back) before reading the member set, so none falls between the two;
            // an event also reflected in the set is ignored by the SDK as not newer (RTP2b).
            await channel.Ready.WaitAsync(cancellationToken).ConfigureAwait(false);
            channel.AddPresenceSubscriber(presenceSubscriber);
            if ((modes & ProtocolFlags.PresenceSubscribe) != 0)
            {
                members = await _services.Presence.Store.GetMembersAsync(channel.Key, cancellationToken).ConfigureAwait(false);
            }

            await channel.AttachAsync(
                subscriber,
                request,
                outcome =>
                {
                    // HAS_PRESENCE only with members: without it the SDK clears its set itself (reference §4.5).
                    var flags = modes | (outcome.Resumed ? ProtocolFlags.Resumed : 0) | (outcome.HasBacklog ? ProtocolFlags.HasBacklog : 0)
                        | (members.Count > 0 ? ProtocolFlags.HasPresence : 0);
                    activity?.SetTag("tokenwire.attach.resumed", outcome.Resumed);
                    var error = outcome.ContinuityLost
                        ? ErrorCodes.Create(ErrorCodes.ChannelContinuityLost, "Channel continuity not guaranteed: attached from the current position")
                        : null;
                    Send(Attached(name!, outcome.AttachPosition, flags, acceptedParams, error));
                },
                cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException and not ProtocolException)
        {
            // The log is unreachable (a scale-out engine's store is down). DETACHED with a 5xxxx error, not ERROR:
            // the SDK moves the channel to SUSPENDED and re-attaches by itself, where ERROR would fail it for good.
            channel.RemovePresenceSubscriber(presenceSubscriber);
            _services.Channels.Release(channel);
            AttachFailed(_services.Logger, ex, ConnectionId, name!);
            activity?.SetStatus(System.Diagnostics.ActivityStatusCode.Error, "message store unavailable");
            Send(new ProtocolMessage(ProtocolAction.Detached)
            {
                Channel = name,
                Error = ErrorCodes.Create(ErrorCodes.InternalChannelError, "Attach failed: the message store is unavailable; retrying"),
            });
            return;
        }
        catch
        {
            channel.RemovePresenceSubscriber(presenceSubscriber);
            _services.Channels.Release(channel);
            throw;
        }

        if (members.Count > 0)
        {
            SendSync(name!, members);
        }

        channel.ReleasePresenceBacklog(presenceSubscriber);
        channel.Occupancy.Add(modes);
        _attachments.Set(name!, new ChannelAttachment(channel, subscriber, presenceSubscriber, modes, requested));
    }

    /// <summary>
    /// ATTACH on a live attachment (<c>setOptions</c>): keep delivering without a seam, continuity unbroken, and apply
    /// new modes — a subscriber is added or removed when SUBSCRIBE was granted or dropped.
    /// </summary>
    private async Task ReattachAsync(string name, ChannelAttachment existing, ProtocolFlags modes, ProtocolFlags requested, AttachParameters parameters, CancellationToken cancellationToken)
    {
        var acceptedParams = parameters.Echoed;
        var subscriber = existing.Subscriber;
        var flags = modes | ProtocolFlags.Resumed;
        if ((modes & ProtocolFlags.Subscribe) != 0 && subscriber is null)
        {
            subscriber = new ChannelSubscriber(_transport, modes, parameters.WholeAppends);
            await existing.Channel.AttachAsync(subscriber, AttachRequest.Fresh, outcome => Send(Attached(name, outcome.AttachPosition, flags, acceptedParams, null)), cancellationToken).ConfigureAwait(false);
        }
        else
        {
            if ((modes & ProtocolFlags.Subscribe) == 0 && subscriber is not null)
            {
                existing.Channel.Detach(subscriber);
                subscriber = null;
            }
            else if (subscriber is not null)
            {
                subscriber.AppendModeFull = parameters.WholeAppends;
            }

            Send(Attached(name, existing.Channel.Cursor, flags, acceptedParams, null));
        }

        var presenceSubscriber = existing.PresenceSubscriber;
        if (modes != existing.Modes)
        {
            // Same stream, new filter: swap the registration without a seam (nothing is held back).
            presenceSubscriber = new ChannelSubscriber(_transport, modes);
            existing.Channel.AddPresenceSubscriber(presenceSubscriber);
            existing.Channel.ReleasePresenceBacklog(presenceSubscriber);
            existing.Channel.RemovePresenceSubscriber(existing.PresenceSubscriber);
        }

        existing.Channel.Occupancy.Remove(existing.Modes);
        existing.Channel.Occupancy.Add(modes);
        _attachments.Set(name, existing with { Subscriber = subscriber, PresenceSubscriber = presenceSubscriber, Modes = modes, Requested = requested });
    }

    private async Task HandleDetachAsync(ProtocolMessage message)
    {
        if (message.Channel is { } name && _attachments.Remove(name, out var attachment))
        {
            Release(attachment);

            // Detaching takes the connection's members off the channel, as in Ably.
            await _services.Presence.LeaveAsync(Connection, name).ConfigureAwait(false);
        }

        Send(new ProtocolMessage(ProtocolAction.Detached) { Channel = message.Channel });
    }

    private void Release(ChannelAttachment attachment)
    {
        if (attachment.Subscriber is { } subscriber)
        {
            attachment.Channel.Detach(subscriber);
        }

        attachment.Channel.RemovePresenceSubscriber(attachment.PresenceSubscriber);

        attachment.Channel.Occupancy.Remove(attachment.Modes);
        _services.Channels.Release(attachment.Channel);
    }

    private void ChannelError(string? channel, ErrorInfo error) =>
        Send(new ProtocolMessage(ProtocolAction.Error) { Channel = channel ?? string.Empty, Error = error });

    private static ProtocolMessage Attached(string channel, LogPosition position, ProtocolFlags flags, IReadOnlyDictionary<string, string>? acceptedParams, ErrorInfo? error) =>
        new(ProtocolAction.Attached)
        {
            Channel = channel,
            ChannelSerial = position.ToSerial(),
            Flags = flags,
            Params = acceptedParams,
            Error = error,
        };
}
