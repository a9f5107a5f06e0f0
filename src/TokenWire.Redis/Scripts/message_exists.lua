-- message_exists.lua: whether an original message (not a version) is in the log, without reading its versions
-- (an annotation's target check).
-- KEYS: see channel.lua. ARGV[1] now ms, ARGV[2] forget-idle ms, ARGV[3] epoch, ARGV[4] offset.
-- Returns { 1 } when it is, { 0 } when not.
local now, forget = tonumber(ARGV[1]), tonumber(ARGV[2])
local target_epoch, target = ARGV[3], tonumber(ARGV[4])
local epoch, last = open_channel(now, forget, false)
if epoch == nil or epoch ~= target_epoch or target > last or target < 1 then
  return { 0 }
end
local original = redis.call('XRANGE', stream, entry_id(target), entry_id(target))
if #original == 0 or is_version(original[1]) then
  return { 0 }
end
return { 1 }
