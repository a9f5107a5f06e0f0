-- history.lua: one page of history (reference §5.4), newest first unless forwards.
-- KEYS: see channel.lua. ARGV[1] now ms, ARGV[2] forget-idle ms,
-- ARGV[3] start ms ('' none), ARGV[4] end ms ('' none), ARGV[5] forwards (1/0), ARGV[6] limit,
-- ARGV[7] until epoch ('' none), ARGV[8] until offset, ARGV[9] cursor epoch ('' none), ARGV[10] cursor offset.
-- Returns: { epoch, next offset (0: no next page), originals (XRANGE form, in page order), and per original its
-- versions up to the until bound or the head (XRANGE form) }. Version entries are skipped (see channel.lua).
local now, forget = tonumber(ARGV[1]), tonumber(ARGV[2])
local start_ms, end_ms, forwards, limit = ARGV[3], ARGV[4], ARGV[5] == '1', tonumber(ARGV[6])
local until_epoch, until_offset = ARGV[7], tonumber(ARGV[8])
local cursor_epoch, cursor = ARGV[9], tonumber(ARGV[10])
local epoch, last, _, age = open_channel(now, forget, false)
if epoch == nil then
  return { '', 0, {}, {} }
end
local first = visible_from(last, now, age)
if first > last or (cursor_epoch ~= '' and cursor_epoch ~= epoch) then
  return { epoch, 0, {}, {} }
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
    return { epoch, 0, {}, {} }
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
  return { epoch, 0, {}, {} }
end
local bound = last
if until_epoch == epoch then
  bound = math.min(last, until_offset)
end
local originals, folded, next_offset
if forwards then
  originals, folded, next_offset = collect_originals(low, high, 1, limit, bound)
else
  originals, folded, next_offset = collect_originals(high, low, -1, limit, bound)
end
return { epoch, next_offset, originals, folded }
