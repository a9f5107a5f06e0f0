-- annotate.lua: stores one annotation and its message's new summary state, and publishes the event, atomically,
-- if nothing was annotated on the message since annotation_state.lua read it (a compare-and-set on the list's
-- length; the caller folded the annotation in C#, MessageSummary, and retries on a conflict).
-- KEYS as annotation_state.lua.
-- ARGV[1] expected list length (the new annotation's index)   ARGV[2] annotation id   ARGV[3] annotation (wire JSON)
-- ARGV[4] new saved state   ARGV[5] retention ms   ARGV[6] pub/sub channel   ARGV[7] event payload
-- Returns 1 when applied, 0 when the message changed meanwhile (nothing applied).
if redis.call('LLEN', KEYS[1]) ~= tonumber(ARGV[1]) or redis.call('HEXISTS', KEYS[3], ARGV[2]) == 1 then
  return 0
end
redis.call('RPUSH', KEYS[1], ARGV[3])
redis.call('SET', KEYS[2], ARGV[4])
redis.call('HSET', KEYS[3], ARGV[2], ARGV[1])
for i = 1, 3 do
  redis.call('PEXPIRE', KEYS[i], ARGV[5])
end
redis.call('PUBLISH', ARGV[6], ARGV[7])
return 1
