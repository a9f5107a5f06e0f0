-- connection_bind.lua: records a connection as live on this node (new, or resumed here from any node).
-- KEYS[1] the connection's state hash, KEYS[2] its expiry tombstone.
-- ARGV[1] connection id, ARGV[2] app id, ARGV[3] key name, ARGV[4] clientId ('' for none), ARGV[5] this node's owner id,
-- ARGV[6] takeover pub/sub channel, ARGV[7] connection key, ARGV[8] key generation (resumes so far).
-- The state loses any expiry (it is live again). When another node owned it, that node is told, so it ends its
-- transport for the connection (if it still has one) and stops managing its state.
-- Returns: the previous owner ('' for a new connection).
local previous = redis.call('HGET', KEYS[1], 'owner') or ''
redis.call('HSET', KEYS[1], 'id', ARGV[1], 'app', ARGV[2], 'keyName', ARGV[3], 'clientId', ARGV[4], 'owner', ARGV[5], 'gen', ARGV[8])
redis.call('HDEL', KEYS[1], 'disconnectedAt')
redis.call('PERSIST', KEYS[1])
redis.call('DEL', KEYS[2])
if previous ~= '' and previous ~= ARGV[5] then
  redis.call('PUBLISH', ARGV[6], ARGV[5] .. ' ' .. ARGV[7])
end
return previous
