using System.Diagnostics;
using System.Globalization;
using StackExchange.Redis;
using TokenWire.Protocol;
using TokenWire.Protocol.Serials;
using TokenWire.Server.Engine;
using TokenWire.Server.Log;

namespace TokenWire.Redis;

/// <summary>
/// The shared message log: one Redis Stream per channel plus a small meta hash and an id window (see
/// <see cref="RedisKeys"/>). Every operation is one Lua script, so it sees and leaves the channel consistent:
/// <c>append.lua</c> deduplicates ids, assigns offsets and timestamps, XADDs, trims and publishes the envelope that
/// every node's <see cref="RedisMessageBus"/> receives, in one atomic step (<c>mutate.lua</c> likewise for a version).
/// Redis runs scripts one at a time, so every node's appends to a channel get one order, and are delivered in that
/// same order. Time comes from <see cref="TimeProvider"/> (passed to the scripts),
/// so timestamps stay monotonic per channel even when node clocks differ.
/// </summary>
public sealed class RedisMessageLog : IMessageLog
{
    /// <summary>Lua numbers are doubles: time bounds beyond 2^53 ms (year 287,396) mean "unbounded".</summary>
    private const long MaxExactMs = 1L << 53;

    private readonly IConnectionMultiplexer _redis;
    private readonly RedisKeys _keys;
    private readonly TimeProvider _time;
    private readonly long _forgetIdleMs;
    private readonly RedisMetrics? _metrics;

    /// <param name="forgetIdleAfter">How long an empty, idle channel keeps its epoch, so recent serials stay resumable.</param>
    public RedisMessageLog(IConnectionMultiplexer redis, RedisKeys keys, TimeProvider time, TimeSpan forgetIdleAfter, RedisMetrics? metrics = null)
    {
        _redis = redis;
        _metrics = metrics;
        _keys = keys;
        _time = time;
        _forgetIdleMs = Ms(forgetIdleAfter);
    }

    private IDatabase Database => _redis.GetDatabase();

    private long Now => _time.GetUtcNow().ToUnixTimeMilliseconds();

    /// <summary>
    /// Appends through <c>append.lua</c>. A Redis that cannot be reached (or is loading) fails the append with
    /// <see cref="EngineUnavailableException"/>: the script may or may not have run, and a retry with the same message
    /// ids is deduplicated, so a caller that retries stores it exactly once.
    /// </summary>
    public async ValueTask<AppendResult> AppendAsync(ChannelKey channel, IReadOnlyList<Message> messages, ChannelRetention retention, string? after = null, CancellationToken cancellationToken = default)
    {
        var window = Ms(retention.IdempotencyWindow);
        var maxAge = Ms(retention.MaxAge);

        // Physical expiry of the channel's keys: past everything the scripts might still need logically.
        var expiry = Math.Max(Math.Max(maxAge, window), _forgetIdleMs) + 60_000;
        // Mutable channels store what mutate.lua checks and merges beside each message (see Scripts/channel.lua).
        var stride = retention.Mutable ? RedisMessageCodec.MutableStride : 2;
        var values = new RedisValue[11 + (stride * messages.Count)];
        values[0] = Now;
        values[1] = maxAge;
        values[2] = Math.Max(retention.MaxMessages, 1);
        values[3] = window;
        values[4] = _forgetIdleMs;
        values[5] = expiry;
        values[6] = _keys.BusChannelName(channel);
        values[7] = messages.Count > 0 ? messages[0].ConnectionId ?? string.Empty : string.Empty;
        values[8] = messages.Count;
        values[9] = stride;
        values[10] = after ?? string.Empty;
        for (var i = 0; i < messages.Count; i++)
        {
            var at = 11 + (stride * i);
            values[at] = messages[i].Id ?? string.Empty;
            values[at + 1] = RedisMessageCodec.EncodeStored(messages[i]);
            if (retention.Mutable)
            {
                RedisMessageCodec.MutableFields(messages[i]).CopyTo(values, at + 2);
            }
        }

        var result = await EvaluateAsync(RedisScripts.Append, channel, values, cancellationToken).ConfigureAwait(false);

        var epoch = (string)result[0]!;
        var timestamp = (long)result[1];
        if (timestamp < 0)
        {
            throw new AppendOutOfOrderException(after!);
        }

        var serials = new string[messages.Count];
        var appended = new List<LogEntry>(messages.Count);
        for (var i = 0; i < messages.Count; i++)
        {
            var outcome = result[2 + i];
            if (outcome.Resp2Type == ResultType.Integer)
            {
                var offset = (long)outcome;
                var message = messages[i];
                message.Serial = new LogPosition(epoch, offset).ToSerial();
                message.Timestamp = timestamp;
                message.Action ??= 0;
                appended.Add(new LogEntry(offset, message));
                serials[i] = message.Serial;
            }
            else
            {
                serials[i] = (string)outcome!;
            }
        }

        return new AppendResult(serials, appended, epoch);
    }

    public async ValueTask<AppendResult> AppendMutationAsync(ChannelKey channel, MessageMutation mutation, ChannelRetention retention, string? after = null, CancellationToken cancellationToken = default)
    {
        var window = Ms(retention.IdempotencyWindow);
        var maxAge = Ms(retention.MaxAge);
        var operation = mutation.Operation;
        var originalSerial = new LogPosition(mutation.OriginalEpoch, mutation.OriginalOffset).ToSerial();
        var pairs = RedisMessageCodec.EncodePairs(new Message
        {
            Id = operation.Id,
            Action = operation.Action,
            Serial = originalSerial,
            Data = operation.Data,
            Encoding = operation.Encoding,
            Version = operation.Version,
            ConnectionId = operation.ConnectionId,
        });
        RedisValue[] values =
        [
            Now,
            maxAge,
            Math.Max(retention.MaxMessages, 1),
            window,
            _forgetIdleMs,
            Math.Max(Math.Max(maxAge, window), _forgetIdleMs) + 60_000,
            _keys.BusChannelName(channel),
            operation.ConnectionId ?? string.Empty,
            mutation.OriginalEpoch,
            mutation.OriginalOffset,
            operation.Id ?? string.Empty,
            operation.Action ?? MessageActions.Update,
            pairs.Pairs,
            pairs.Count,
            operation.Name is null ? RedisValue.EmptyString : RedisMessageCodec.EncodePairs(new Message { Name = operation.Name }).Pairs,
            operation.Extras is null ? RedisValue.EmptyString : RedisMessageCodec.EncodePairs(new Message { Extras = operation.Extras }).Pairs,
            MutationRules.DataKind(operation),
            mutation.ActorClientId ?? string.Empty,
            mutation.MayChangeAny ? 1 : 0,
            mutation.MaxMessageSize,
            operation.Data.Size,
            (long)mutation.AppendRollupWindow.TotalMilliseconds,
            after ?? string.Empty,
        ];
        var result = await EvaluateAsync(RedisScripts.Mutate, channel, values, cancellationToken).ConfigureAwait(false);
        var epoch = (string)result[0]!;
        switch ((string)result[2]!)
        {
            case "dup":
                return new AppendResult([(string)result[3]!], [], epoch);
            case "order":
                throw new AppendOutOfOrderException(after!);
            case "err":
                throw (int)result[3] switch
                {
                    ErrorCodes.OperationNotPermitted => MutationRules.NotOwner(operation.Action == MessageActions.Delete ? "delete" : "update"),
                    ErrorCodes.InvalidMessageData => MutationRules.TargetNotText(),
                    ErrorCodes.MessageTooLarge => MutationRules.WholeTooLarge((long)result[4], mutation.MaxMessageSize),
                    _ => MutationRules.NotFound(originalSerial),
                };
        }

        // The entry as readers decode it: the stored broadcast form (mutate.lua merged name, extras and clientId).
        var offset = (long)result[3];
        var entry = RedisMessageCodec.DecodeStored(new System.Buffers.ReadOnlySequence<byte>((byte[])result[4]!), epoch, offset, (long)result[1]);
        var serial = new LogPosition(epoch, offset).ToSerial();
        return new AppendResult([serial], [entry], epoch);
    }

    public async ValueTask<MessageVersions?> ReadMessageAsync(ChannelKey channel, LogPosition serial, CancellationToken cancellationToken = default)
    {
        var result = await EvaluateAsync(RedisScripts.Message, channel, [Now, _forgetIdleMs, serial.Epoch, serial.Offset], cancellationToken).ConfigureAwait(false);
        var epoch = (string)result[0]!;
        var original = RedisMessageCodec.DecodeEntries(result[1], epoch);
        return original.Count == 1 ? new MessageVersions(original[0], RedisMessageCodec.DecodeEntries(result[2], epoch)) : null;
    }

    public async ValueTask<bool> ContainsMessageAsync(ChannelKey channel, LogPosition serial, CancellationToken cancellationToken = default)
    {
        var result = await EvaluateAsync(RedisScripts.MessageExists, channel, [Now, _forgetIdleMs, serial.Epoch, serial.Offset], cancellationToken).ConfigureAwait(false);
        return (long)result[0] == 1;
    }

    public async ValueTask<LogPosition> GetHeadAsync(ChannelKey channel, CancellationToken cancellationToken = default)
    {
        var result = await EvaluateAsync(RedisScripts.Head, channel, [Now, _forgetIdleMs, ExpiryOfEmpty], cancellationToken).ConfigureAwait(false);
        return new LogPosition((string)result[0]!, (long)result[1]);
    }

    public async ValueTask<ReadResult> ReadAfterAsync(ChannelKey channel, LogPosition after, int max, CancellationToken cancellationToken = default)
    {
        var result = await EvaluateAsync(
            RedisScripts.ReadAfter,
            channel,
            [Now, _forgetIdleMs, ExpiryOfEmpty, after.Epoch, after.Offset, max],
            cancellationToken).ConfigureAwait(false);
        var epoch = (string)result[0]!;
        return new ReadResult(RedisMessageCodec.DecodeEntries(result[3], epoch), (long)result[2] == 1, epoch, (long)result[1]);
    }

    public async ValueTask<IReadOnlyList<LogEntry>> ReadRecentAsync(ChannelKey channel, int? count, long? sinceMs, LogPosition upTo, CancellationToken cancellationToken = default)
    {
        var result = await EvaluateAsync(
            RedisScripts.ReadRecent,
            channel,
            [Now, _forgetIdleMs, ExpiryOfEmpty, upTo.Epoch, upTo.Offset, count ?? -1, sinceMs is { } since ? Math.Clamp(since, 0, MaxExactMs) : -1],
            cancellationToken).ConfigureAwait(false);

        // Newest first from the script; replay wants oldest first.
        var recent = RedisMessageCodec.DecodeFolded(result[0], result[1], upTo.Epoch);
        recent.Reverse();
        return recent;
    }

    public async ValueTask<HistoryPage> ReadHistoryAsync(ChannelKey channel, HistoryQuery query, CancellationToken cancellationToken = default)
    {
        var result = await EvaluateAsync(
            RedisScripts.History,
            channel,
            [
                Now,
                _forgetIdleMs,
                query.StartMs is { } start ? Math.Clamp(start, 0, MaxExactMs) : string.Empty,
                query.EndMs is { } end && end < MaxExactMs ? Math.Max(end, -1) : string.Empty,
                query.Forwards ? 1 : 0,
                query.Limit,
                query.Until?.Epoch ?? string.Empty,
                query.Until?.Offset ?? 0,
                query.Cursor?.Epoch ?? string.Empty,
                query.Cursor?.Offset ?? 0,
            ],
            cancellationToken).ConfigureAwait(false);
        var epoch = (string)result[0]!;
        var next = (long)result[1];
        return new HistoryPage(RedisMessageCodec.DecodeFolded(result[2], result[3], epoch), next > 0 ? new LogPosition(epoch, next) : null);
    }

    /// <summary>Ephemeral messages go straight to the channel's pub/sub channel: no script, nothing stored.</summary>
    public async ValueTask PublishEphemeralAsync(ChannelKey channel, IReadOnlyList<Message> messages, CancellationToken cancellationToken = default)
    {
        if (messages.Count > 0)
        {
            var payload = RedisMessageCodec.EncodeEphemeralEnvelope(messages);
            try
            {
                await _redis.GetSubscriber().PublishAsync(_keys.BusChannel(channel), payload).WaitAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (RedisFailures.IsUnavailable(ex))
            {
                throw RedisFailures.Unavailable("message bus", ex);
            }
        }
    }

    /// <summary>An epoch created by a read (no append yet) is kept this long: the same as a forgotten channel's.</summary>
    private long ExpiryOfEmpty => _forgetIdleMs + 60_000;

    /// <summary>
    /// Runs a channel script. A Redis that cannot be reached or is not ready fails with
    /// <see cref="EngineUnavailableException"/>, logged once per outage by whoever waits it out, not here.
    /// </summary>
    private async Task<RedisResult[]> EvaluateAsync(string script, ChannelKey channel, RedisValue[] values, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        try
        {
            var result = (RedisResult[])(await Database.ScriptEvaluateAsync(script, _keys.Channel(channel), values).WaitAsync(cancellationToken).ConfigureAwait(false))!;
            _metrics?.ScriptRan(script, started);
            return result;
        }
        catch (Exception ex) when (RedisFailures.IsUnavailable(ex))
        {
            _metrics?.ScriptRan(script, started, unavailable: true);
            throw RedisFailures.Unavailable("message store", ex);
        }
    }

    private static long Ms(TimeSpan span) => (long)Math.Clamp(span.TotalMilliseconds, 0, MaxExactMs / 4);
}
