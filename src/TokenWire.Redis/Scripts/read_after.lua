-- read_after.lua: up to max entries after a position, for resume and gap filling.
-- KEYS: see channel.lua. ARGV[1] now ms, ARGV[2] forget-idle ms, ARGV[3] key expiry ms,
-- ARGV[4] epoch of the position, ARGV[5] its offset, ARGV[6] max entries.
-- Returns: { epoch, last offset, continuous (1/0), entries (XRANGE form) }. Continuous is 0 when the position is of
-- another epoch, beyond the head, or older than what is retained.
local now, forget = tonumber(ARGV[1]), tonumber(ARGV[2])
local after_epoch, after, max = ARGV[4], tonumber(ARGV[5]), tonumber(ARGV[6])
local epoch, last, _, age = open_channel(now, forget, true)
if last == 0 then
  redis.call('PEXPIRE', meta, tonumber(ARGV[3]))
end
if after_epoch ~= epoch or after > last then
  return { epoch, last, 0, {} }
end
local first = visible_from(last, now, age)
local continuous = 0
if after + 1 >= first then
  continuous = 1
end
local from = math.max(after + 1, first)
if from > last or max <= 0 then
  return { epoch, last, continuous, {} }
end
return { epoch, last, continuous, redis.call('XRANGE', stream, entry_id(from), entry_id(last), 'COUNT', max) }
