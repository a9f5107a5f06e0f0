using TokenWire.Protocol;
using TokenWire.Protocol.Serials;
using TokenWire.Server.Auth;
using TokenWire.Server.Channels;

namespace TokenWire.Server.Connections;

/// <summary>ATTACH / DETACH (reference §4.5-§4.7).</summary>
public sealed partial class RealtimeTransport
{
    /// <summary>Modes granted when the client requests none: everything but annotations and objects, as Ably does.</summary>
    /// <remarks>ANNOTATION_PUBLISH is in the default set as in Ably (the ably-js suite expects it), still subject to capability.</remarks>
    private const ProtocolFlags DefaultModes =
        ProtocolFlags.Publish | ProtocolFlags.Subscribe | ProtocolFlags.Presence | ProtocolFlags.PresenceSubscribe | ProtocolFlags.AnnotationPublish;

    private readonly Dictionary<string, Attachment> _attachments = new(StringComparer.Ordinal);

    /// <param name="Requested">The modes the client asked for, or none when it took the default set.</param>
    private sealed record Attachment(LocalChannel Channel, ChannelSubscriber? Subscriber, ChannelSubscriber PresenceSubscriber, ProtocolFlags Modes, ProtocolFlags Requested)
    {
        /// <summary>
        /// Whether the client's choice of modes allows an operation. Rights are checked separately against the
        /// current capability: a client that took the default set may publish once an in-band AUTH grants it, as in
        /// Ably (ably-js reauthCapabilityUpgradeAddPublish), while one that asked for other modes may not.
        /// </summary>
        public bool ModesAllow(ProtocolFlags mode) => Requested == ProtocolFlags.None ? (DefaultModes & mode) != 0 : (Requested & mode) != 0;
    }

    private async Task HandleAttachAsync(ProtocolMessage message, CancellationToken cancellationToken)
    {
        var name = message.Channel;
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
        var modes = (requested == ProtocolFlags.None ? DefaultModes : requested) & PermittedModes(operations);
        if (message.HasFlag(ProtocolFlags.AttachResume))
        {
            // A re-attach that continues an attachment replays the gap, never the rewind again.
            request = request with { RewindCount = null, RewindAge = null };
        }

        if (_attachments.TryGetValue(name!, out var existing))
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

        var channel = _services.Channels.Acquire(ChannelKeys.For(Connection.Auth.App.Id, name!));
        var subscriber = (modes & ProtocolFlags.Subscribe) != 0 ? new ChannelSubscriber(this, modes, parameters.WholeAppends) : null;
        var presenceSubscriber = new ChannelSubscriber(this, modes);
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
        _attachments[name!] = new Attachment(channel, subscriber, presenceSubscriber, modes, requested);
    }

    /// <summary>
    /// ATTACH on a live attachment (<c>setOptions</c>): keep delivering without a seam, continuity unbroken, and apply
    /// new modes — a subscriber is added or removed when SUBSCRIBE was granted or dropped.
    /// </summary>
    private async Task ReattachAsync(string name, Attachment existing, ProtocolFlags modes, ProtocolFlags requested, AttachParameters parameters, CancellationToken cancellationToken)
    {
        var acceptedParams = parameters.Echoed;
        var subscriber = existing.Subscriber;
        var flags = modes | ProtocolFlags.Resumed;
        if ((modes & ProtocolFlags.Subscribe) != 0 && subscriber is null)
        {
            subscriber = new ChannelSubscriber(this, modes, parameters.WholeAppends);
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
            presenceSubscriber = new ChannelSubscriber(this, modes);
            existing.Channel.AddPresenceSubscriber(presenceSubscriber);
            existing.Channel.ReleasePresenceBacklog(presenceSubscriber);
            existing.Channel.RemovePresenceSubscriber(existing.PresenceSubscriber);
        }

        existing.Channel.Occupancy.Remove(existing.Modes);
        existing.Channel.Occupancy.Add(modes);
        _attachments[name] = existing with { Subscriber = subscriber, PresenceSubscriber = presenceSubscriber, Modes = modes, Requested = requested };
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

    private void DetachAll()
    {
        lock (_attachments)
        {
            foreach (var attachment in _attachments.Values)
            {
                Release(attachment);
            }

            _attachments.Clear();
        }
    }

    private void Release(Attachment attachment)
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

    private static ProtocolFlags PermittedModes(ChannelOperation operations)
    {
        var modes = ProtocolFlags.None;
        if ((operations & ChannelOperation.Publish) != 0)
        {
            modes |= ProtocolFlags.Publish;
        }

        if ((operations & ChannelOperation.Subscribe) != 0)
        {
            modes |= ProtocolFlags.Subscribe | ProtocolFlags.PresenceSubscribe;
        }

        if ((operations & ChannelOperation.Presence) != 0)
        {
            modes |= ProtocolFlags.Presence;
        }

        if ((operations & ChannelOperation.AnnotationPublish) != 0)
        {
            modes |= ProtocolFlags.AnnotationPublish;
        }

        if ((operations & ChannelOperation.AnnotationSubscribe) != 0)
        {
            modes |= ProtocolFlags.AnnotationSubscribe;
        }

        if ((operations & ChannelOperation.ObjectPublish) != 0)
        {
            modes |= ProtocolFlags.ObjectPublish;
        }

        if ((operations & ChannelOperation.ObjectSubscribe) != 0)
        {
            modes |= ProtocolFlags.ObjectSubscribe;
        }

        return modes;
    }
}
