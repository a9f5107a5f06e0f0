-- read_recent.lua: the last count entries, or those stamped at or after since, up to a position (rewind).
-- KEYS: see channel.lua. ARGV[1] now ms, ARGV[2] forget-idle ms, ARGV[3] key expiry ms,
-- ARGV[4] epoch of the bound, ARGV[5] its offset, ARGV[6] count (-1: any), ARGV[7] since ms (-1: any).
-- Returns: { originals (XRANGE form), their versions up to the bound (XRANGE form) }, newest first; none when the
-- bound is of another epoch. count counts original messages: version entries are skipped (see channel.lua).
local now, forget = tonumber(ARGV[1]), tonumber(ARGV[2])
local upto_epoch, upto, count, since = ARGV[4], tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7])
local epoch, last, _, age = open_channel(now, forget, true)
if last == 0 then
  redis.call('PEXPIRE', meta, tonumber(ARGV[3]))
end
if upto_epoch ~= epoch or last == 0 then
  return { {}, {} }
end
local high = math.min(upto, last)
local from = visible_from(last, now, age)
if from > high then
  return { {}, {} }
end
if since >= 0 then
  from = offset_at_or_after(since, from, high)
end
if from > high then
  return { {}, {} }
end
local limit = count
if limit < 0 then
  limit = high - from + 1
end
local originals, folded = collect_originals(high, from, -1, limit, high)
return { originals, folded }
