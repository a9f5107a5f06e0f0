-- stats_add.lua: adds one node's counts for one minute to that minute and to its hour, day and month.
-- KEYS[1..4] the interval hashes (minute, hour, day, month), KEYS[5..8] each unit's index (sorted set by start).
-- ARGV[1..4] each interval's start (Unix ms), ARGV[5..8] each unit's TTL in seconds, then name/value pairs.
-- Sums add (HINCRBY, so every node's writes sum to the cluster's counts); a name ending in ".peak" keeps the maximum.
for u = 1, 4 do
  local hash = KEYS[u]
  for i = 9, #ARGV, 2 do
    local name = ARGV[i]
    local value = tonumber(ARGV[i + 1])
    if string.sub(name, -5) == '.peak' then
      local current = tonumber(redis.call('HGET', hash, name) or '0')
      if value > current then
        redis.call('HSET', hash, name, value)
      end
    else
      redis.call('HINCRBY', hash, name, value)
    end
  end
  redis.call('EXPIRE', hash, ARGV[4 + u])
  redis.call('ZADD', KEYS[4 + u], ARGV[u], ARGV[u])
  redis.call('EXPIRE', KEYS[4 + u], ARGV[4 + u])
end
return 1
