using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using StackExchange.Redis;
using TokenWire.Protocol;
using TokenWire.Server.Annotations;
using TokenWire.Server.Engine;

namespace TokenWire.Redis;

/// <summary>
/// Annotations shared by every node: per message a list of annotations, the saved <see cref="MessageSummary"/> and an
/// id index (<see cref="RedisKeys.Annotations"/>). An annotation is folded in C# — the one home of the summary rules —
/// and written by <c>annotate.lua</c> only if the message gained no annotation since its state was read (a
/// compare-and-set on the list's length), which also publishes the event on the channel's annotation pub/sub channel
/// in the same atomic step. Two nodes annotating one message at once: one applies, the other reads again and folds
/// its annotation into the new state, so both count and every node sees one order.
/// </summary>
public sealed partial class RedisAnnotationStore(IConnectionMultiplexer redis, RedisKeys keys, ILogger<RedisAnnotationStore>? logger = null) : IAnnotationStore
{
    private readonly ILogger _logger = logger ?? NullLogger<RedisAnnotationStore>.Instance;

    private IDatabase Database => redis.GetDatabase();

    public async ValueTask<AnnotationEvent> PublishAsync(ChannelKey channel, Annotation annotation, AnnotationStorage storage, CancellationToken cancellationToken = default)
    {
        var messageSerial = annotation.MessageSerial!;
        var annotationKeys = keys.Annotations(channel, messageSerial);
        var id = annotation.Id ?? string.Empty;
        try
        {
            while (true)
            {
                var state = (RedisResult[])(await Database.ScriptEvaluateAsync(RedisScripts.AnnotationState, annotationKeys, [id]).WaitAsync(cancellationToken).ConfigureAwait(false))!;
                var (length, saved, existing) = ((long)state[0], (string?)state[1], (byte[]?)state[2]);
                var summary = MessageSummary.Load(saved);
                if (existing is { Length: > 0 })
                {
                    // A repeated id (a retransmission): nothing is applied again.
                    return new AnnotationEvent(channel, RedisAnnotationCodec.Decode(existing), summary.Render(storage.MaxClientIds));
                }

                var stored = annotation.Clone();
                stored.Serial = AnnotationSerials.For(messageSerial, length);
                summary.Apply(stored);
                var applied = new AnnotationEvent(channel, stored, summary.Render(storage.MaxClientIds));
                var retentionMs = Math.Max(1, (long)storage.Retention.TotalMilliseconds);
                var result = await Database.ScriptEvaluateAsync(
                    RedisScripts.Annotate,
                    annotationKeys,
                    [length, id, RedisAnnotationCodec.Encode(stored), summary.Save(), retentionMs, keys.AnnotationChannelName(channel), RedisAnnotationCodec.EncodeEvent(applied), IAnnotationStore.MaxRetainedEvents])
                    .WaitAsync(cancellationToken).ConfigureAwait(false);
                if ((long)result is > 0 and var sequence)
                {
                    return applied with { Sequence = sequence };
                }
            }
        }
        catch (Exception ex) when (RedisFailures.IsUnavailable(ex))
        {
            throw RedisFailures.Unavailable("annotation store", ex);
        }
    }

    public async ValueTask<IReadOnlyList<Annotation>> ReadAsync(ChannelKey channel, string messageSerial, int start, int limit, CancellationToken cancellationToken = default)
    {
        if (limit <= 0)
        {
            return [];
        }

        var values = await Database.ListRangeAsync(keys.Annotations(channel, messageSerial)[0], start, (long)start + limit - 1).WaitAsync(cancellationToken).ConfigureAwait(false);
        return [.. values.Select(v => RedisAnnotationCodec.Decode((byte[])v!))];
    }

    public async ValueTask<JsonPayload?> GetSummaryAsync(ChannelKey channel, string messageSerial, int maxClientIds, CancellationToken cancellationToken = default)
    {
        var saved = await Database.StringGetAsync(keys.Annotations(channel, messageSerial)[1]).WaitAsync(cancellationToken).ConfigureAwait(false);
        return saved.IsNullOrEmpty ? null : MessageSummary.Load(saved).Render(maxClientIds);
    }

    public async ValueTask<long> GetSequenceAsync(ChannelKey channel, CancellationToken cancellationToken = default)
    {
        try
        {
            var value = await Database.StringGetAsync(keys.AnnotationEvents(channel)[0]).WaitAsync(cancellationToken).ConfigureAwait(false);
            return value.IsNullOrEmpty ? 0 : (long)value;
        }
        catch (Exception ex) when (RedisFailures.IsUnavailable(ex))
        {
            throw RedisFailures.Unavailable("annotation store", ex);
        }
    }

    public async ValueTask<IReadOnlyList<AnnotationEvent>> ReadEventsAsync(ChannelKey channel, long after, int limit, CancellationToken cancellationToken = default)
    {
        if (limit <= 0)
        {
            return [];
        }

        try
        {
            var values = await Database.SortedSetRangeByScoreAsync(keys.AnnotationEvents(channel)[1], after, double.PositiveInfinity, Exclude.Start, take: limit)
                .WaitAsync(cancellationToken).ConfigureAwait(false);
            return [.. values.Select(v => RedisAnnotationCodec.DecodeEvent(channel, (byte[])v!))];
        }
        catch (Exception ex) when (RedisFailures.IsUnavailable(ex))
        {
            throw RedisFailures.Unavailable("annotation store", ex);
        }
    }

    public async ValueTask<IAsyncDisposable> SubscribeAsync(ChannelKey channel, Action<AnnotationEvent> handler, CancellationToken cancellationToken = default) =>
        await RedisSubscription.StartAsync(
            redis,
            keys.AnnotationChannel(channel),
            channel.ToString(),
            payload =>
            {
                AnnotationEvent applied;
                try
                {
                    applied = RedisAnnotationCodec.DecodeEvent(channel, (byte[])payload!);
                }
                catch (Exception ex) when (ex is System.Text.Json.JsonException or ProtocolException or KeyNotFoundException or InvalidOperationException)
                {
                    EventDropped(_logger, ex.Message, channel);
                    return;
                }

                handler(applied);
            },
            _logger,
            cancellationToken).ConfigureAwait(false);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Annotations: an undecodable event on {Channel} was dropped ({Reason}); the stored summary is unaffected")]
    private static partial void EventDropped(ILogger logger, string reason, ChannelKey channel);
}
