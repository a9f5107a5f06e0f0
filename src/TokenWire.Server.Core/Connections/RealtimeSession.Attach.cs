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
        // The client's name for the attachment (frames carry it back), and the channel it addresses.
        var wireName = message.Channel;
        using var activity = ServerTelemetry.StartRoot("tokenwire.attach");
        activity?.SetTag("messaging.destination.name", wireName);
        activity?.SetTag("tokenwire.connection.id", ConnectionId);
        if (!QualifiedChannelName.TryParse(wireName, out var qualified, out var nameError))
        {
            ChannelError(wireName, nameError!);
            return;
        }

        var name = qualified!.Name;
        if (!TryGetOperations(qualified, out var operations, out var refusal))
        {
            ChannelError(wireName, refusal!);
            return;
        }

        if (!AttachParameters.TryParse(qualified.MergeParams(message.Params), out var parameters, out var paramError))
        {
            ChannelError(wireName, paramError!);
            return;
        }

        var request = parameters.Request;
        var acceptedParams = parameters.Echoed;
        var requested = parameters.Modes ?? message.Flags & ProtocolFlags.AllModes;
        var modes = AttachModes.Grant(requested, operations);
        if (qualified.Filter is not null)
        {
            modes &= ProtocolFlags.Subscribe;
        }
        if (message.HasFlag(ProtocolFlags.AttachResume))
        {
            // A re-attach that continues an attachment replays the gap, never the rewind again.
            request = request with { RewindCount = null, RewindAge = null };
        }

        if (_attachments.TryGet(wireName!, out var existing))
        {
            if (existing.Subscriber is { } current && (current.Deltas || parameters.Deltas) && modes == existing.Modes
                && message.ChannelSerial is { } chainFrom && ChannelSerials.TryParse(chainFrom, out var chainPosition, out var chainMark))
            {
                await RestartChainAsync(qualified, existing, requested, parameters, request with { ResumeFrom = chainPosition, ResumeMark = chainMark }, cancellationToken).ConfigureAwait(false);
                return;
            }

            await ReattachAsync(qualified, existing, modes, requested, parameters, cancellationToken).ConfigureAwait(false);
            return;
        }

        var maxChannels = _services.Options.Limits.MaxChannelsPerConnection;
        if (maxChannels > 0 && _attachments.Count >= maxChannels)
        {
            ChannelError(wireName, ErrorCodes.Create(ErrorCodes.TooManyChannels, $"Maximum number of channels per connection ({maxChannels}) exceeded"));
            return;
        }

        if (message.ChannelSerial is { } serial)
        {
            // An unparsable serial can never match a live epoch, so it is reported as continuity lost.
            request = ChannelSerials.TryParse(serial, out var from, out var mark)
                ? request with { ResumeFrom = from, ResumeMark = mark }
                : request with { ResumeFrom = new LogPosition(string.Empty, 0) };
        }

        var channel = _services.Channels.Acquire(new ChannelKey(Connection.Auth.App.Id, name));
        var subscriber = (modes & ProtocolFlags.Subscribe) != 0 ? NewSubscriber(qualified, modes, parameters.WholeAppends, parameters.Deltas) : null;
        var presenceSubscriber = NewSubscriber(qualified, modes, false, false);
        IReadOnlyList<PresenceMessage> members = [];
        try
        {
            // Presence seam: follow events (held back) before reading the member set, so none falls between the two;
            // an event also reflected in the set is ignored by the SDK as not newer (RTP2b).
            await channel.Ready.WaitAsync(cancellationToken).ConfigureAwait(false);
            var registeredMark = channel.AddPresenceSubscriber(presenceSubscriber);
            if ((modes & ProtocolFlags.PresenceSubscribe) != 0)
            {
                members = await _services.Presence.Store.GetMembersAsync(channel.Key, cancellationToken).ConfigureAwait(false);
            }

            var outcome = await channel.AttachAsync(
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
                    Send(Attached(wireName!, outcome.ChannelSerial, flags, acceptedParams, error));
                },
                cancellationToken).ConfigureAwait(false);
            if (subscriber is null && request.ResumeFrom is not null)
            {
                await channel.ReplayMissedRawAnnotationsAsync(presenceSubscriber, outcome, request.ResumeMark, registeredMark, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException and not ProtocolException)
        {
            // The log is unreachable (a scale-out engine's store is down). DETACHED with a 5xxxx error, not ERROR:
            // the SDK moves the channel to SUSPENDED and re-attaches by itself, where ERROR would fail it for good.
            channel.RemovePresenceSubscriber(presenceSubscriber);
            _services.Channels.Release(channel);
            AttachFailed(_services.Logger, ex, ConnectionId, wireName!);
            activity?.SetStatus(System.Diagnostics.ActivityStatusCode.Error, "message store unavailable");
            Send(new ProtocolMessage(ProtocolAction.Detached)
            {
                Channel = wireName,
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
            SendSync(wireName!, members);
        }

        channel.ReleasePresenceBacklog(presenceSubscriber);
        channel.Occupancy.Add(modes);
        _attachments.Set(wireName!, new ChannelAttachment(channel, subscriber, presenceSubscriber, modes, requested, qualified.Filter is not null));
    }

    /// <summary>
    /// What the token may do on the channel, checked on the unqualified name (as Ably applies capabilities). A filtered
    /// attachment only subscribes, so it needs <c>subscribe</c> — on the name, or on Ably's resource for filtered
    /// channels, <c>[filter]name</c> (so <c>[filter]*</c> and <c>[*]*</c> grant it too).
    /// </summary>
    private bool TryGetOperations(QualifiedChannelName qualified, out ChannelOperation operations, out ErrorInfo? refusal)
    {
        refusal = null;
        var capability = Connection.Auth.Capability;
        operations = capability.OperationsFor(qualified.Name);
        if (qualified.Filter is not null)
        {
            operations = (operations | capability.OperationsFor("[filter]" + qualified.Name)) & ChannelOperation.Subscribe;
            if (operations == ChannelOperation.None)
            {
                refusal = ErrorCodes.Create(ErrorCodes.OperationNotPermitted, $"Permission denied: a filtered attachment needs the subscribe capability on channel '{qualified.Name}'");
                return false;
            }
        }

        if (operations == ChannelOperation.None)
        {
            refusal = ErrorCodes.Create(ErrorCodes.OperationNotPermitted, $"Permission denied: no capability for channel '{qualified.Name}'");
            return false;
        }

        return true;
    }

    /// <param name="deltas"><c>delta=vcdiff</c>; a filtered view's messages always go whole.</param>
    private ChannelSubscriber NewSubscriber(QualifiedChannelName qualified, ProtocolFlags modes, bool wholeAppends, bool deltas) =>
        new(_transport, modes, wholeAppends)
        {
            WireName = qualified.IsQualified ? qualified.WireName : null,
            Filter = qualified.Filter,
            Deltas = deltas && qualified.Filter is null,
        };

    /// <summary>
    /// ATTACH with a channelSerial on a live attachment that has (or asks for) deltas: the SDK's recovery from a delta
    /// it could not apply (RTL18, 40018), or a <c>setOptions</c>. The client drops what arrives before ATTACHED and
    /// holds no base the server can name, so the attachment starts again from its serial with a new chain: the
    /// replay's first message whole, deltas after it.
    /// </summary>
    private async Task RestartChainAsync(QualifiedChannelName qualified, ChannelAttachment existing, ProtocolFlags requested, AttachParameters parameters, AttachRequest request, CancellationToken cancellationToken)
    {
        var name = qualified.WireName;
        var modes = existing.Modes;
        var subscriber = NewSubscriber(qualified, modes, parameters.WholeAppends, parameters.Deltas);
        existing.Channel.Detach(existing.Subscriber!);
        _attachments.Set(name, existing with { Subscriber = subscriber, Requested = requested });
        try
        {
            await existing.Channel.AttachAsync(
                subscriber,
                request with { RewindCount = null, RewindAge = null },
                outcome =>
                {
                    var flags = modes | (outcome.Resumed ? ProtocolFlags.Resumed : 0);
                    var error = outcome.ContinuityLost
                        ? ErrorCodes.Create(ErrorCodes.ChannelContinuityLost, "Channel continuity not guaranteed: attached from the current position")
                        : null;
                    Send(Attached(name, outcome.ChannelSerial, flags, parameters.Echoed, error));
                },
                cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException and not ProtocolException)
        {
            // As for a first attach: DETACHED with a 5xxxx error, so the SDK re-attaches by itself once the log is back.
            if (_attachments.Remove(name, out var removed))
            {
                Release(removed);
            }

            AttachFailed(_services.Logger, ex, ConnectionId, name);
            Send(new ProtocolMessage(ProtocolAction.Detached)
            {
                Channel = name,
                Error = ErrorCodes.Create(ErrorCodes.InternalChannelError, "Attach failed: the message store is unavailable; retrying"),
            });
        }
    }

    private static ErrorInfo SubscribeOnlyError(string wireName, string name) =>
        ErrorCodes.Create(ErrorCodes.OperationNotPermitted, $"Channel '{wireName}' is a filtered (derived) channel, which only subscribes: publish and enter presence on '{name}'");

    /// <summary>
    /// ATTACH on a live attachment (<c>setOptions</c>): keep delivering without a seam, continuity unbroken, and apply
    /// new modes — a subscriber is added or removed when SUBSCRIBE was granted or dropped.
    /// </summary>
    private async Task ReattachAsync(QualifiedChannelName qualified, ChannelAttachment existing, ProtocolFlags modes, ProtocolFlags requested, AttachParameters parameters, CancellationToken cancellationToken)
    {
        var name = qualified.WireName;
        var acceptedParams = parameters.Echoed;
        var subscriber = existing.Subscriber;
        var flags = modes | ProtocolFlags.Resumed;
        if ((modes & ProtocolFlags.Subscribe) != 0 && subscriber is null)
        {
            subscriber = NewSubscriber(qualified, modes, parameters.WholeAppends, parameters.Deltas);
            await existing.Channel.AttachAsync(subscriber, AttachRequest.Fresh, outcome => Send(Attached(name, outcome.ChannelSerial, flags, acceptedParams, null)), cancellationToken).ConfigureAwait(false);
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

            Send(Attached(name, existing.Channel.CursorSerial, flags, acceptedParams, null));
        }

        var presenceSubscriber = existing.PresenceSubscriber;
        if (modes != existing.Modes)
        {
            // Same stream, new filter: swap the registration without a seam (nothing is held back).
            presenceSubscriber = NewSubscriber(qualified, modes, false, false);
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
            await _services.Presence.LeaveAsync(Connection, attachment.Channel.Name).ConfigureAwait(false);
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

    private static ProtocolMessage Attached(string channel, string channelSerial, ProtocolFlags flags, IReadOnlyDictionary<string, string>? acceptedParams, ErrorInfo? error) =>
        new(ProtocolAction.Attached)
        {
            Channel = channel,
            ChannelSerial = channelSerial,
            Flags = flags,
            Params = acceptedParams,
            Error = error,
        };
}
