-- annotate.lua: stores one annotation and its message's new summary state, numbers the event in its channel's
-- sequence, retains it for replay and publishes it, atomically, if nothing was annotated on the message since
-- annotation_state.lua read it (a compare-and-set on the list's length; the caller folded the annotation in C#,
-- MessageSummary, and retries on a conflict).
-- KEYS[1..3] as annotation_state.lua   KEYS[4] string: the channel's event sequence (never expires)
-- KEYS[5] sorted set: the channel's retained events, scored by sequence
-- ARGV[1] expected list length (the new annotation's index)   ARGV[2] annotation id   ARGV[3] annotation (wire JSON)
-- ARGV[4] new saved state   ARGV[5] retention ms   ARGV[6] pub/sub channel   ARGV[7] event payload (a JSON object)
-- ARGV[8] events retained at most
-- Returns the event's sequence when applied, 0 when the message changed meanwhile (nothing applied).
if redis.call('LLEN', KEYS[1]) ~= tonumber(ARGV[1]) or redis.call('HEXISTS', KEYS[3], ARGV[2]) == 1 then
  return 0
end
redis.call('RPUSH', KEYS[1], ARGV[3])
redis.call('SET', KEYS[2], ARGV[4])
redis.call('HSET', KEYS[3], ARGV[2], ARGV[1])
for i = 1, 3 do
  redis.call('PEXPIRE', KEYS[i], ARGV[5])
end
local sequence = redis.call('INCR', KEYS[4])
-- The sequence goes first in the event's object: {"sequence":n,<the caller's members>}.
local event = '{"sequence":' .. sequence .. ',' .. string.sub(ARGV[7], 2)
redis.call('ZADD', KEYS[5], sequence, event)
redis.call('ZREMRANGEBYRANK', KEYS[5], 0, -tonumber(ARGV[8]) - 1)
redis.call('PEXPIRE', KEYS[5], ARGV[5])
redis.call('PUBLISH', ARGV[6], event)
return sequence
