-- connection_disconnect.lua: starts the connectionStateTtl countdown of a connection whose transport ended here.
-- KEYS[1] the connection's state hash, KEYS[2] its expiry tombstone.
-- ARGV[1] this node's owner id, ARGV[2] remaining state TTL ms, ARGV[3] disconnected-at ms.
-- Ignored (returns 0) when another node has taken the connection over: its state is live there. Otherwise the state
-- expires after the TTL, and the tombstone (80008 "expired" instead of 80018 "unknown") lasts as long again.
if redis.call('HGET', KEYS[1], 'owner') ~= ARGV[1] then
  return 0
end
local ttl = tonumber(ARGV[2])
redis.call('HSET', KEYS[1], 'disconnectedAt', ARGV[3])
redis.call('PEXPIRE', KEYS[1], ttl)
redis.call('SET', KEYS[2], '1', 'PX', 2 * ttl)
return 1
