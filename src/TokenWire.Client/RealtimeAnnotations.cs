using Microsoft.Extensions.Logging;
using TokenWire.Client.Internal;
using TokenWire.Protocol;

namespace TokenWire.Client;

/// <summary>
/// A realtime channel's annotations (spec RTAN): publish and delete annotations on the channel's messages (ANNOTATION
/// frames, acknowledged like publishes), receive raw annotations (only with <see cref="ChannelModes.AnnotationSubscribe"/>
/// granted), and read a message's annotations over REST. Summaries need none of this: they reach message
/// subscribers as <c>message.summary</c> messages (<see cref="MessageExtensions.GetSummary"/>). The channel must be in
/// a namespace with mutable messages (else 93002).
/// </summary>
public sealed partial class RealtimeAnnotations
{
    private readonly RealtimeChannel _channel;
    private readonly Connection _connection;
    private readonly RestClient _rest;
    private readonly RealtimeClientOptions _options;
    private readonly ILogger _logger;
    private readonly SubscriberList<Annotation> _subscribers;

    internal RealtimeAnnotations(RealtimeChannel channel, Connection connection, RestClient rest, EventDispatcher events, RealtimeClientOptions options)
    {
        _channel = channel;
        _connection = connection;
        _rest = rest;
        _options = options;
        _logger = options.LoggerFactory.CreateLogger<RealtimeAnnotations>();
        _subscribers = new SubscriberList<Annotation>(connection.Gate, events);
    }

    private Lock Gate => _connection.Gate;

    /// <summary>
    /// Annotates the message with <paramref name="messageSerial"/> (build the annotation with
    /// <see cref="Messages.CreateAnnotation"/>). Completes on ACK; faults with <see cref="AblyException"/> on NACK,
    /// e.g. 40003 for an invalid type or a type that needs a clientId, 40160 without annotation_publish.
    /// </summary>
    public Task PublishAsync(string messageSerial, Annotation annotation, CancellationToken cancellationToken = default) =>
        SendAsync(messageSerial, annotation, AnnotationActions.Create, cancellationToken);

    /// <summary>Annotates <paramref name="message"/>, a received message (it carries its serial).</summary>
    public Task PublishAsync(Message message, Annotation annotation, CancellationToken cancellationToken = default) =>
        PublishAsync(SerialOf(message), annotation, cancellationToken);

    /// <summary>
    /// Removes this client's annotation of the same type (and, for distinct, unique and multiple, name) from the
    /// message's summary: the annotation is published with action <c>annotation.delete</c>.
    /// </summary>
    public Task DeleteAsync(string messageSerial, Annotation annotation, CancellationToken cancellationToken = default) =>
        SendAsync(messageSerial, annotation, AnnotationActions.Delete, cancellationToken);

    /// <summary>Deletes an annotation of <paramref name="message"/>, a received message.</summary>
    public Task DeleteAsync(Message message, Annotation annotation, CancellationToken cancellationToken = default) =>
        DeleteAsync(SerialOf(message), annotation, cancellationToken);

    /// <summary>A page of the message's annotations, oldest first, over REST.</summary>
    public Task<PaginatedResult<Annotation>> GetAsync(string messageSerial, int? limit = null, CancellationToken cancellationToken = default) =>
        _rest.GetAnnotationsAsync(_channel.Name, messageSerial, limit, cancellationToken);

    /// <summary>
    /// Calls <paramref name="handler"/> for every raw annotation (creates and deletes) published on the channel.
    /// Subscribing attaches the channel; annotations arrive only when it was attached with
    /// <see cref="ChannelModes.AnnotationSubscribe"/> granted.
    /// </summary>
    /// <exception cref="AblyException">93001: the channel is attached without annotation_subscribe.</exception>
    public IDisposable Subscribe(Action<Annotation> handler) => AddHandler(null, handler);

    /// <summary>Calls <paramref name="handler"/> for every annotation of <paramref name="type"/>.</summary>
    public IDisposable Subscribe(string type, Action<Annotation> handler)
    {
        ArgumentException.ThrowIfNullOrEmpty(type);
        return AddHandler(type, handler);
    }

    /// <summary>
    /// Subscribes (to annotations of <paramref name="type"/>, or all) and returns the subscription to read with
    /// <c>await foreach</c>; annotations are buffered from this call on.
    /// </summary>
    /// <exception cref="AblyException">93001: the channel is attached without annotation_subscribe.</exception>
    public AnnotationSubscription SubscribeAsync(string? type = null, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var subscription = new AnnotationSubscription(this, type, _options.SubscriptionCapacity, cancellationToken);
        try
        {
            Add(() => _subscribers.AddSubscription(TypeFilter(type), subscription));
        }
        catch
        {
            subscription.Dispose();
            throw;
        }

        return subscription;
    }

    internal void Unsubscribe(object owner) => _subscribers.Remove(owner);

    internal void CompleteSubscriptions() => _subscribers.CompleteAll();

    /// <summary>After an ATTACHED: annotation subscribers on an attachment without the mode will never hear anything.</summary>
    internal void OnAttachedLocked(ChannelModes granted)
    {
        if (!_subscribers.IsEmptyLocked && (granted & ChannelModes.AnnotationSubscribe) == 0)
        {
            ModeMissing(_logger, _channel.Name);
        }
    }

    /// <summary>An ANNOTATION frame for the attached channel: children inherit the frame's fields, payloads are decoded.</summary>
    internal void OnAnnotations(ProtocolMessage frame)
    {
        var annotations = frame.Annotations;
        if (annotations is null || annotations.Count == 0)
        {
            return;
        }

        for (var i = 0; i < annotations.Count; i++)
        {
            var annotation = annotations[i];
            if (annotation.Id is null && frame.Id is not null)
            {
                annotation.Id = string.Concat(frame.Id, ":", i.ToString(System.Globalization.CultureInfo.InvariantCulture));
            }

            annotation.ConnectionId ??= frame.ConnectionId;
            annotation.Timestamp ??= frame.Timestamp;
            PayloadCodec.Decode(annotation);
        }

        _subscribers.Deliver(
            _subscribers.Snapshot(),
            annotations,
            (_, _) => SubscriptionFull(_logger, _channel.Name, _options.SubscriptionCapacity),
            ex => HandlerFailed(_logger, ex, _channel.Name));
    }

    private static string SerialOf(Message message)
    {
        ArgumentNullException.ThrowIfNull(message);
        return message.Serial is { Length: > 0 } serial
            ? serial
            : throw new ArgumentException("The message has no serial: annotate a message received from the channel, or pass its serial.", nameof(message));
    }

    private Task SendAsync(string messageSerial, Annotation annotation, int action, CancellationToken cancellationToken)
    {
        var wire = Prepare(messageSerial, annotation, action);
        cancellationToken.ThrowIfCancellationRequested();
        return _channel.SendAcknowledgedAsync(
            new ProtocolMessage(ProtocolAction.Annotation) { Channel = _channel.Name, Annotations = [wire] },
            wire.ToSize(),
            cancellationToken);
    }

    /// <summary>A copy of <paramref name="annotation"/> naming its message and carrying the action (RSAN1c).</summary>
    internal static Annotation Prepare(string messageSerial, Annotation annotation, int action)
    {
        ArgumentException.ThrowIfNullOrEmpty(messageSerial);
        ArgumentNullException.ThrowIfNull(annotation);
        if (string.IsNullOrEmpty(annotation.Type))
        {
            throw new ArgumentException("An annotation needs a type, such as reaction:distinct.v1.", nameof(annotation));
        }

        var wire = annotation.Clone();
        wire.MessageSerial = messageSerial;
        wire.Action = action;
        return wire;
    }

    private IDisposable AddHandler(string? type, Action<Annotation> handler)
    {
        ArgumentNullException.ThrowIfNull(handler);
        IDisposable? registration = null;
        Add(() => registration = _subscribers.AddHandler(TypeFilter(type), handler));
        return registration!;
    }

    /// <summary>Registers, then attaches implicitly; an attachment already made without the mode refuses (RTAN4e).</summary>
    private void Add(Action register)
    {
        lock (Gate)
        {
            if (_channel.StateLocked == ChannelState.Attached && (_channel.ModesLocked & ChannelModes.AnnotationSubscribe) == 0)
            {
                throw new AblyException(93001, $"Channel '{_channel.Name}' is attached without the annotation_subscribe mode: request ChannelModes.AnnotationSubscribe in its ChannelOptions to receive annotations");
            }

            register(); // the gate is re-entrant: the check and the registration are one step
        }

        _channel.AttachImplicitly();
    }

    private static Func<Annotation, bool>? TypeFilter(string? type) => type is null ? null : a => a.Type == type;
}
