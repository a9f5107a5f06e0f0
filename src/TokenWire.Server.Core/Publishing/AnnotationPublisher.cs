using Microsoft.Extensions.Options;
using TokenWire.Protocol;
using TokenWire.Protocol.Serials;
using TokenWire.Server.Annotations;
using TokenWire.Server.Auth;
using TokenWire.Server.Channels;
using TokenWire.Server.Configuration;
using TokenWire.Server.Engine;
using TokenWire.Server.Log;

namespace TokenWire.Server.Publishing;

/// <summary>
/// The one annotation publish path for realtime and REST (spec RSAN1, RTAN1): the channel must be mutable (93002), the
/// caller needs <c>annotation-publish</c> (40160), the annotation must be valid (<see cref="AnnotationRules"/>, 40003)
/// and name a message in the log (40400); then the store assigns its serial, folds it into the message's summary and
/// delivers both. Ordinary publishes never come here.
/// </summary>
public sealed class AnnotationPublisher(IMessageLog log, IAnnotationStore store, ChannelRules rules, IOptions<TokenWireOptions> options, TimeProvider time)
{
    private readonly int _maxClientIds = Math.Max(0, options.Value.Annotations.MaxSummaryClientIds);

    /// <param name="connectionId">The publishing realtime connection, or null for REST.</param>
    public async ValueTask<AnnotationEvent> PublishAsync(AuthContext auth, string channelName, Annotation annotation, string? connectionId, CancellationToken cancellationToken)
    {
        ChannelNames.Validate(channelName);
        if (!auth.App.IsMutable(channelName))
        {
            throw new ProtocolException(ErrorCodes.MutableMessagesNotEnabled, "Annotations can only be published on channels with mutableMessages enabled");
        }

        if (!auth.Capability.Allows(channelName, ChannelOperation.AnnotationPublish))
        {
            throw new ProtocolException(ErrorCodes.OperationNotPermitted, $"Permission denied: no annotation-publish capability on channel '{channelName}'");
        }

        annotation.ClientId = auth.ClientIdFor(annotation.ClientId, "Annotation");
        annotation.Action ??= AnnotationActions.Create;
        AnnotationRules.Validate(annotation);
        auth.App.EnsureWithinMessageSize(annotation.ToSize());

        var channel = new ChannelKey(auth.App.Id, channelName);
        if (!LogPosition.TryParse(annotation.MessageSerial, out var target)
            || !await log.ContainsMessageAsync(channel, target, cancellationToken).ConfigureAwait(false))
        {
            throw MutationRules.NotFound(annotation.MessageSerial!);
        }

        annotation.ConnectionId = connectionId;
        annotation.Serial = null;
        annotation.Timestamp = time.GetUtcNow().ToUnixTimeMilliseconds();
        annotation.Id ??= MessageIds.For(MessageIds.NewRestBase(), 0);
        var retention = rules.RetentionFor(auth.App, channelName).MaxAge;
        return await store.PublishAsync(channel, annotation, new AnnotationStorage(retention, _maxClientIds), cancellationToken).ConfigureAwait(false);
    }
}
