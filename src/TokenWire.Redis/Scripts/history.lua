-- history.lua: one page of history (reference §5.4), newest first unless forwards.
-- KEYS: see channel.lua. ARGV[1] now ms, ARGV[2] forget-idle ms,
-- ARGV[3] start ms ('' none), ARGV[4] end ms ('' none), ARGV[5] forwards (1/0), ARGV[6] limit,
-- ARGV[7] until epoch ('' none), ARGV[8] until offset, ARGV[9] cursor epoch ('' none), ARGV[10] cursor offset.
-- Returns: { epoch, next offset (0: no next page), entries (XRANGE form, in page order) }.
local now, forget = tonumber(ARGV[1]), tonumber(ARGV[2])
local start_ms, end_ms, forwards, limit = ARGV[3], ARGV[4], ARGV[5] == '1', tonumber(ARGV[6])
local until_epoch, until_offset = ARGV[7], tonumber(ARGV[8])
local cursor_epoch, cursor = ARGV[9], tonumber(ARGV[10])
local epoch, last, _, age = open_channel(now, forget, false)
if epoch == nil then
  return { '', 0, {} }
end
local first = visible_from(last, now, age)
if first > last or (cursor_epoch ~= '' and cursor_epoch ~= epoch) then
  return { epoch, 0, {} }
end
local low, high = first, last
if start_ms ~= '' then
  low = math.max(low, offset_at_or_after(tonumber(start_ms), first, last))
end
if end_ms ~= '' then
  high = math.min(high, offset_at_or_after(tonumber(end_ms) + 1, first, last) - 1)
end
if until_epoch ~= '' then
  if until_epoch < epoch then
    return { epoch, 0, {} }
  end
  if until_epoch == epoch then
    high = math.min(high, until_offset)
  end
end
if cursor_epoch ~= '' then
  if forwards then
    low = math.max(low, cursor)
  else
    high = math.min(high, cursor)
  end
end
if low > high then
  return { epoch, 0, {} }
end
local available = high - low + 1
local take = math.min(limit, available)
if forwards then
  local next_offset = 0
  if available > take then
    next_offset = low + take
  end
  return { epoch, next_offset, redis.call('XRANGE', stream, entry_id(low), entry_id(high), 'COUNT', take) }
end
local next_offset = 0
if available > take then
  next_offset = high - take
end
return { epoch, next_offset, redis.call('XREVRANGE', stream, entry_id(high), entry_id(low), 'COUNT', take) }
