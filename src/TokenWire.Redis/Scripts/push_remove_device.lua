-- Removes a push device registration, its clientId index entry and its device subscriptions.
-- KEYS[1] devices hash, KEYS[2] device ids, KEYS[3] subscriptions (sorted set of "channel\nd:id" / "channel\nc:id"),
-- KEYS[4] channels (sorted set), KEYS[5] subscriptions per channel (hash)
-- ARGV[1] clientId set key prefix, ARGV[2] device subscriptions set key prefix, ARGV[3] device id
local old = redis.call('HGET', KEYS[1], ARGV[3])
if not old then
  return 0
end
local ok, decoded = pcall(cjson.decode, old)
if ok and type(decoded.clientId) == 'string' then
  redis.call('SREM', ARGV[1] .. decoded.clientId, ARGV[3])
end
redis.call('HDEL', KEYS[1], ARGV[3])
redis.call('ZREM', KEYS[2], ARGV[3])
local subscriptions = ARGV[2] .. ARGV[3]
for _, channel in ipairs(redis.call('SMEMBERS', subscriptions)) do
  if redis.call('ZREM', KEYS[3], channel .. '\nd:' .. ARGV[3]) == 1 and redis.call('HINCRBY', KEYS[5], channel, -1) <= 0 then
    redis.call('HDEL', KEYS[5], channel)
    redis.call('ZREM', KEYS[4], channel)
  end
end
redis.call('DEL', subscriptions)
return 1
