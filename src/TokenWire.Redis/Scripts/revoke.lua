-- revoke.lua: records a token revocation in the shared list and tells every node.
-- KEYS[1] the revocations hash (field "keyName\ntype\nvalue" -> "issuedBefore appliesAt").
-- ARGV[1] field, ARGV[2] issuedBefore, ARGV[3] appliesAt (Unix ms), ARGV[4] the revocations pub/sub channel.
-- Merged with an existing entry as TokenRevocation.Merge does: the later issuedBefore wins, on a tie the earlier
-- appliesAt. Only a change is written and published ("issuedBefore appliesAt field").
-- Returns: the entry now in force, "issuedBefore appliesAt".
local issued = tonumber(ARGV[2])
local applies = tonumber(ARGV[3])
local existing = redis.call('HGET', KEYS[1], ARGV[1])
if existing then
  local space = string.find(existing, ' ', 1, true)
  local oldIssued = tonumber(string.sub(existing, 1, space - 1))
  local oldApplies = tonumber(string.sub(existing, space + 1))
  if not (issued > oldIssued or (issued == oldIssued and applies < oldApplies)) then
    return existing
  end
end
local entry = ARGV[2] .. ' ' .. ARGV[3]
redis.call('HSET', KEYS[1], ARGV[1], entry)
redis.call('PUBLISH', ARGV[4], entry .. ' ' .. ARGV[1])
return entry
