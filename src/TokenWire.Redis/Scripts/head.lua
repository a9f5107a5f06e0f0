-- head.lua: the channel's epoch and last offset, creating the channel (its epoch) when it does not exist.
-- KEYS: see channel.lua. ARGV[1] now ms, ARGV[2] forget-idle ms, ARGV[3] key expiry ms.
-- Returns: { epoch, last offset }.
local now, forget = tonumber(ARGV[1]), tonumber(ARGV[2])
local epoch, last = open_channel(now, forget, true)
if last == 0 then
  redis.call('PEXPIRE', meta, tonumber(ARGV[3]))
end
return { epoch, last }
