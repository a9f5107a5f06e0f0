-- presence_apply.lua: applies one connection's presence changes to a channel's member set and publishes the
-- resulting events, atomically: the rules of PresenceSet (TokenWire.Server.Presence), which this mirrors exactly.
-- KEYS[1] members   hash: member key -> the member's message (msgpack, as entered; read back as PRESENT)
-- KEYS[2] owners    hash: member key -> owner
-- KEYS[3] prints    hash: member key -> fingerprint of the member's id, data, encoding and extras
-- ARGV[1] pub/sub channel   ARGV[2] max members (0 = unlimited)   ARGV[3] n
-- then n groups of six: member key, action (2 enter, 3 leave, 4 update), owner, only-if-owner ('1' or '0'),
-- fingerprint (enter/update) or '1' when the leave has no data of its own (leave), message (msgpack).
-- Returns { -1 } when the enters would take the channel past max members (nothing is applied), else
-- { members left, events } where events is what was published ('' for none): msgpack 1, count, then per event its
-- action, the message, and the member's stored message for a leave to take its data from (nil otherwise).
-- Messages are opaque here (Lua's msgpack cannot tell text from binary); the C# codec does all decoding.
local members, owners, prints = KEYS[1], KEYS[2], KEYS[3]
local channel, max_members, n = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local ENTER, LEAVE, UPDATE = 2, 3, 4
local NIL = string.char(0xc0)

-- All or nothing: every enter or update of an absent member counts, as in PresenceSet.EnsureRoom.
if max_members > 0 then
  local added = 0
  for i = 0, n - 1 do
    local base = 4 + 6 * i
    if tonumber(ARGV[base + 1]) ~= LEAVE and redis.call('HEXISTS', prints, ARGV[base]) == 0 then
      added = added + 1
    end
  end
  if added > 0 and redis.call('HLEN', prints) + added > max_members then
    return { -1 }
  end
end

local events = {}
for i = 0, n - 1 do
  local base = 4 + 6 * i
  local key, action, owner, only_if_owner = ARGV[base], tonumber(ARGV[base + 1]), ARGV[base + 2], ARGV[base + 3]
  local print, message = ARGV[base + 4], ARGV[base + 5]
  if action == LEAVE then
    local current = redis.call('HGET', owners, key)
    if current and (only_if_owner ~= '1' or current == owner) then
      local last = NIL
      if print == '1' then
        last = redis.call('HGET', members, key) or NIL
      end
      redis.call('HDEL', members, key)
      redis.call('HDEL', owners, key)
      redis.call('HDEL', prints, key)
      events[#events + 1] = string.char(LEAVE) .. message .. last
    end
  else
    local previous = redis.call('HGET', prints, key)
    redis.call('HSET', members, key, message)
    redis.call('HSET', owners, key, owner)
    redis.call('HSET', prints, key, print)
    -- A repeated enter with the same id and payload (the SDK's re-enter after a reconnect) only refreshes the owner.
    if not (previous and action == ENTER and previous == print) then
      local broadcast = ENTER
      if previous then
        broadcast = UPDATE
      end
      events[#events + 1] = string.char(broadcast) .. message .. NIL
    end
  end
end

local payload = ''
if #events > 0 then
  payload = cmsgpack.pack(1, #events) .. table.concat(events)
  redis.call('PUBLISH', channel, payload)
end
return { redis.call('HLEN', prints), payload }
