using StackExchange.Redis;
using TokenWire.Server.Engine;

namespace TokenWire.Redis;

/// <summary>
/// Every Redis key and pub/sub channel name the engine uses, under one configurable prefix (so several clusters or
/// test runs can share a Redis). A channel's keys share the hash tag <c>{appId:channelName}</c>, so its append script
/// touches one slot and the layout would also work on Redis Cluster.
/// <code>
/// {prefix}ch:{appId:channel}:s     stream: the channel's messages, entry id "offset-0"
/// {prefix}ch:{appId:channel}:m     hash: epoch, last offset, last timestamp, last append, max age
/// {prefix}ch:{appId:channel}:i     hash: message id -> serial (idempotent publishing)
/// {prefix}ch:{appId:channel}:x     sorted set: message id -> expiry ms
/// {prefix}ch:{appId:channel}:v     sorted set: original offset -> version offsets (mutable channels)
/// {prefix}bus:appId:channel        pub/sub: the channel's appended messages, in log order
/// {prefix}conn:connectionKey       hash: resumable connection state (id, app, key name, clientId, owner)
/// {prefix}conn-expired:connectionKey   tombstone: the state expired (80008)
/// {prefix}conn-takeover            pub/sub: "owner connectionKey" when a node takes a connection over
/// {prefix}revocations              hash: "keyName\ntype\nvalue" -> "issuedBefore appliesAt" (token revocations)
/// {prefix}app-conns:appId          hash: node -> "liveConnections writtenAtMs" (MaxConnectionsPerApp across nodes)
/// {prefix}revocations-changed      pub/sub: "issuedBefore appliesAt keyName\ntype\nvalue" for each new or widened one
/// {prefix}pres:{appId:channel}:m   hash: presence member key -> the member's message (msgpack)
/// {prefix}pres:{appId:channel}:o   hash: presence member key -> owner ("nodeInstance/connectionId")
/// {prefix}pres:{appId:channel}:f   hash: presence member key -> fingerprint of id and payload (repeated enters)
/// {prefix}presence:appId:channel   pub/sub: the channel's presence events, in the order applied
/// {prefix}pres-channels            set: channel keys that may have presence members (the dead-node sweep's index)
/// {prefix}node:nodeInstance        string with a TTL: the node is alive (its heartbeat)
/// {prefix}ann:{appId:channel}:serial:l   list: a message's annotations (wire JSON), oldest first
/// {prefix}ann:{appId:channel}:serial:s   string: the message's summary state (MessageSummary.Save)
/// {prefix}ann:{appId:channel}:serial:i   hash: annotation id -> index in the list (idempotency)
/// {prefix}annotations:appId:channel      pub/sub: the channel's applied annotations with their summaries
/// {prefix}push:{appId}:dev          hash: push device id -> registration (json)
/// {prefix}push:{appId}:devs         sorted set (lexicographic): device ids, for paging
/// {prefix}push:{appId}:cli:clientId set: the clientId's device ids
/// {prefix}push:{appId}:subs         sorted set (lexicographic): "channel\nd:deviceId" / "channel\nc:clientId"
/// {prefix}push:{appId}:dsub:id      set: the channels a device is subscribed to (removed with the device)
/// {prefix}push:{appId}:chans        sorted set (lexicographic) + {prefix}push:{appId}:chcount hash: channels with subscriptions
/// </code>
/// </summary>
public sealed class RedisKeys(string prefix)
{
    public const string DefaultPrefix = "tokenwire:";

    public string Prefix { get; } = prefix;

    /// <summary>The five keys of a channel, in the order the channel scripts expect (see Scripts/channel.lua).</summary>
    public RedisKey[] Channel(ChannelKey channel)
    {
        var tag = string.Concat(Prefix, "ch:{", channel.ToString(), "}:");
        return [tag + "s", tag + "m", tag + "i", tag + "x", tag + "v"];
    }

    public string BusChannelName(ChannelKey channel) => string.Concat(Prefix, "bus:", channel.ToString());

    public RedisChannel BusChannel(ChannelKey channel) => RedisChannel.Literal(BusChannelName(channel));

    public RedisKey Connection(string connectionKey) => string.Concat(Prefix, "conn:", connectionKey);

    public RedisKey ExpiredConnection(string connectionKey) => string.Concat(Prefix, "conn-expired:", connectionKey);

    public RedisChannel ConnectionTakeover => RedisChannel.Literal(Prefix + "conn-takeover");

    public RedisKey Revocations => Prefix + "revocations";

    public RedisKey AppConnections(string appId) => string.Concat(Prefix, "app-conns:", appId);

    public RedisChannel RevocationsChanged => RedisChannel.Literal(Prefix + "revocations-changed");

    /// <summary>The three presence hashes of a channel, in the order presence_apply.lua expects; same hash tag as its log.</summary>
    public RedisKey[] Presence(ChannelKey channel)
    {
        var tag = string.Concat(Prefix, "pres:{", channel.ToString(), "}:");
        return [tag + "m", tag + "o", tag + "f"];
    }

    public string PresenceChannelName(ChannelKey channel) => string.Concat(Prefix, "presence:", channel.ToString());

    public RedisChannel PresenceChannel(ChannelKey channel) => RedisChannel.Literal(PresenceChannelName(channel));

    public RedisKey PresenceChannels => Prefix + "pres-channels";

    /// <summary>An app's stats interval (a hash of leaf entries); one hash tag per app, so its keys share a slot.</summary>
    public RedisKey StatsInterval(string appId, string unit, long start) => string.Concat(Prefix, "stats:{", appId, "}:", unit, ":", start.ToString(System.Globalization.CultureInfo.InvariantCulture));

    /// <summary>An app's push keys by suffix (<c>dev</c>, <c>devs</c>, <c>subs</c>, <c>chans</c>, <c>chcount</c>), or a per-id key's prefix (<c>cli:</c>, <c>dsub:</c>).</summary>
    public string Push(string appId, string suffix) => string.Concat(Prefix, "push:{", appId, "}:", suffix);

    /// <summary>The starts of an app's stored intervals of one unit (a sorted set scored by start).</summary>
    public RedisKey StatsIndex(string appId, string unit) => string.Concat(Prefix, "stats:{", appId, "}:", unit);

    /// <summary>
    /// A message's three annotation keys and its channel's two (the event sequence, never expiring so a sequence is
    /// never reused, and the retained events), in the order the annotation scripts expect; same hash tag as its log.
    /// </summary>
    public RedisKey[] Annotations(ChannelKey channel, string messageSerial)
    {
        var tag = string.Concat(Prefix, "ann:{", channel.ToString(), "}:");
        var message = tag + messageSerial + ":";
        return [message + "l", message + "s", message + "i", tag + "seq", tag + "events"];
    }

    /// <summary>The channel's annotation event keys: its sequence and its retained events (a sorted set scored by sequence).</summary>
    public RedisKey[] AnnotationEvents(ChannelKey channel)
    {
        var tag = string.Concat(Prefix, "ann:{", channel.ToString(), "}:");
        return [tag + "seq", tag + "events"];
    }

    public string AnnotationChannelName(ChannelKey channel) => string.Concat(Prefix, "annotations:", channel.ToString());

    public RedisChannel AnnotationChannel(ChannelKey channel) => RedisChannel.Literal(AnnotationChannelName(channel));

    public RedisKey NodeHeartbeat(string nodeInstance) => string.Concat(Prefix, "node:", nodeInstance);
}
