using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using StackExchange.Redis;
using TokenWire.Protocol;
using TokenWire.Server.Engine;
using TokenWire.Server.Presence;

namespace TokenWire.Redis;

/// <summary>
/// Presence shared by every node: each channel's members in three hashes (see <see cref="RedisKeys.Presence"/>),
/// changed only by <c>presence_apply.lua</c>, which applies <see cref="PresenceSet"/>'s rules and publishes the
/// resulting events on the channel's presence pub/sub channel in the same atomic step. Redis runs scripts one at a
/// time, so every node's subscribers see one order per channel. Pub/sub is at-most-once: a node whose link drops
/// misses events, which the SYNC of the next attach makes good (the <see cref="IPresenceStore"/> contract).
/// <para>
/// Channels that gain members are added to an index set, from which <see cref="RedisPresenceSweeper"/> finds the
/// members of dead nodes. The add follows the script, never precedes it, so the sweeper's "remove from the index,
/// then look again" can never drop a channel that has members.
/// </para>
/// </summary>
public sealed partial class RedisPresenceStore : IPresenceStore
{
    private readonly IConnectionMultiplexer _redis;
    private readonly RedisKeys _keys;
    private readonly ILogger _logger;
    private readonly RedisMetrics? _metrics;

    public RedisPresenceStore(IConnectionMultiplexer redis, RedisKeys keys, ILogger<RedisPresenceStore>? logger = null, RedisMetrics? metrics = null)
    {
        _redis = redis;
        _metrics = metrics;
        _keys = keys;
        _logger = logger ?? NullLogger<RedisPresenceStore>.Instance;
    }

    private IDatabase Database => _redis.GetDatabase();

    public async ValueTask<IReadOnlyList<PresenceMessage>> ApplyAsync(ChannelKey channel, IReadOnlyList<PresenceChange> changes, int maxMembers, CancellationToken cancellationToken = default)
    {
        if (changes.Count == 0)
        {
            return [];
        }

        var values = new RedisValue[3 + (6 * changes.Count)];
        values[0] = _keys.PresenceChannelName(channel);
        values[1] = Math.Max(maxMembers, 0);
        values[2] = changes.Count;
        var entersAny = false;
        for (var i = 0; i < changes.Count; i++)
        {
            var (message, owner, onlyIfOwner) = (changes[i].Message, changes[i].Owner, changes[i].OnlyIfOwner);
            var leave = message.Action == PresenceAction.Leave;
            entersAny |= !leave;
            var at = 3 + (6 * i);
            values[at] = message.MemberKey;
            values[at + 1] = (int)message.Action;
            values[at + 2] = owner;
            values[at + 3] = onlyIfOwner ? "1" : "0";
            values[at + 4] = leave ? (message.Data.IsNone ? "1" : "0") : RedisPresenceCodec.Fingerprint(message);
            values[at + 5] = RedisPresenceCodec.Encode(message);
        }

        RedisResult[] result;
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        try
        {
            result = (RedisResult[])(await Database.ScriptEvaluateAsync(RedisScripts.PresenceApply, _keys.Presence(channel), values).WaitAsync(cancellationToken).ConfigureAwait(false))!;
            _metrics?.ScriptRan(RedisScripts.PresenceApply, started);
            if ((long)result[0] == -1)
            {
                throw new ProtocolException(ErrorCodes.TooManyPresenceMembers, $"Maximum number of presence members on the channel ({maxMembers}) reached");
            }

            if (entersAny && (long)result[0] > 0)
            {
                await Database.SetAddAsync(_keys.PresenceChannels, channel.ToString()).WaitAsync(cancellationToken).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (RedisFailures.IsUnavailable(ex))
        {
            _metrics?.ScriptRan(RedisScripts.PresenceApply, started, unavailable: true);
            throw RedisFailures.Unavailable("presence store", ex);
        }

        var payload = (byte[]?)result[1];
        return payload is { Length: > 0 } ? RedisPresenceCodec.DecodeEvents(payload) : [];
    }

    public async ValueTask<IReadOnlyList<PresenceMessage>> GetMembersAsync(ChannelKey channel, CancellationToken cancellationToken = default)
    {
        var entries = await Database.HashGetAllAsync(_keys.Presence(channel)[0]).WaitAsync(cancellationToken).ConfigureAwait(false);
        Array.Sort(entries, static (a, b) => string.CompareOrdinal((string?)a.Name, (string?)b.Name));
        var members = new PresenceMessage[entries.Length];
        for (var i = 0; i < entries.Length; i++)
        {
            members[i] = RedisPresenceCodec.DecodeMember((byte[])entries[i].Value!);
        }

        return members;
    }

    public async ValueTask<IAsyncDisposable> SubscribeAsync(ChannelKey channel, Action<PresenceEvent> handler, CancellationToken cancellationToken = default) =>
        await RedisSubscription.StartAsync(
            _redis,
            _keys.PresenceChannel(channel),
            channel.ToString(),
            payload =>
            {
                IReadOnlyList<PresenceMessage> events;
                try
                {
                    events = RedisPresenceCodec.DecodeEvents((ReadOnlyMemory<byte>)payload);
                }
                catch (Exception ex)
                {
                    EventsDropped(_logger, ex, channel);
                    return;
                }

                handler(new PresenceEvent(channel, events));
            },
            _logger,
            cancellationToken).ConfigureAwait(false);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Presence: undecodable events on {Channel} dropped (the next SYNC makes them good)")]
    private static partial void EventsDropped(ILogger logger, Exception exception, ChannelKey channel);
}
