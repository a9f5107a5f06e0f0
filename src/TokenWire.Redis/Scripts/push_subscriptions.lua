-- Adds (ARGV[2] = '1') or removes (ARGV[2] = '0') push channel subscriptions, keeping the channel index and each
-- device's set of subscribed channels true.
-- KEYS[1] subscriptions (sorted set of "channel\nd:id" / "channel\nc:id"), KEYS[2] channels (sorted set),
-- KEYS[3] subscriptions per channel (hash)
-- ARGV[1] device subscriptions set key prefix, ARGV[2] '1' add / '0' remove, ARGV[3..] subscription keys
local changed = 0
for i = 3, #ARGV do
  local key = ARGV[i]
  local channel, kind, id = string.match(key, '^(.*)\n([dc]):(.*)$')
  if ARGV[2] == '1' then
    if redis.call('ZADD', KEYS[1], 0, key) == 1 then
      changed = changed + 1
      redis.call('HINCRBY', KEYS[3], channel, 1)
      redis.call('ZADD', KEYS[2], 0, channel)
    end
    if kind == 'd' then
      redis.call('SADD', ARGV[1] .. id, channel)
    end
  elseif redis.call('ZREM', KEYS[1], key) == 1 then
    changed = changed + 1
    if redis.call('HINCRBY', KEYS[3], channel, -1) <= 0 then
      redis.call('HDEL', KEYS[3], channel)
      redis.call('ZREM', KEYS[2], channel)
    end
    if kind == 'd' then
      redis.call('SREM', ARGV[1] .. id, channel)
    end
  end
end
return changed
