-- message.lua: one original message and its versions (getMessage, getMessageVersions).
-- KEYS: see channel.lua. ARGV[1] now ms, ARGV[2] forget-idle ms, ARGV[3] epoch, ARGV[4] offset.
-- Returns { epoch, original (XRANGE form, empty if none), versions (XRANGE form) }.
local now, forget = tonumber(ARGV[1]), tonumber(ARGV[2])
local target_epoch, target = ARGV[3], tonumber(ARGV[4])
local epoch, last = open_channel(now, forget, false)
if epoch == nil or epoch ~= target_epoch or target > last or target < 1 then
  return { epoch or '', {}, {} }
end
local original = redis.call('XRANGE', stream, entry_id(target), entry_id(target))
if #original == 0 or is_version(original[1]) then
  return { epoch, {}, {} }
end
return { epoch, original, versions_of(target, last) }
