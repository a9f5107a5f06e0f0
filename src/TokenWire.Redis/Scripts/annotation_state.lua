-- annotation_state.lua: one message's annotation state, read atomically for annotate.lua's compare-and-set.
-- KEYS[1] list: the message's annotations (wire JSON), oldest first
-- KEYS[2] string: the message's saved summary state (MessageSummary.Save)
-- KEYS[3] hash: annotation id -> its index in the list (idempotency)
-- ARGV[1] the annotation's id
-- Returns { list length, saved state or '', the stored annotation with that id or '' }.
local index = redis.call('HGET', KEYS[3], ARGV[1])
local existing = ''
if index then
  existing = redis.call('LINDEX', KEYS[1], tonumber(index)) or ''
end
return { redis.call('LLEN', KEYS[1]), redis.call('GET', KEYS[2]) or '', existing }
