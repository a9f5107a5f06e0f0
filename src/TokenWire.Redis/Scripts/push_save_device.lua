-- Saves a push device registration and keeps the clientId index true.
-- KEYS[1] devices hash (id -> json), KEYS[2] device ids (sorted set, lexicographic)
-- ARGV[1] clientId set key prefix, ARGV[2] device id, ARGV[3] registration json, ARGV[4] clientId or ''
local old = redis.call('HGET', KEYS[1], ARGV[2])
if old then
  local ok, decoded = pcall(cjson.decode, old)
  if ok and type(decoded.clientId) == 'string' and decoded.clientId ~= ARGV[4] then
    redis.call('SREM', ARGV[1] .. decoded.clientId, ARGV[2])
  end
end
redis.call('HSET', KEYS[1], ARGV[2], ARGV[3])
redis.call('ZADD', KEYS[2], 0, ARGV[2])
if ARGV[4] ~= '' then
  redis.call('SADD', ARGV[1] .. ARGV[4], ARGV[2])
end
return 1
