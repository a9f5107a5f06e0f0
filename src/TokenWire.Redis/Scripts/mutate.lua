-- mutate.lua: appends an update, delete or append of an earlier message and publishes it, atomically.
-- KEYS: see channel.lua. ARGV[1..8] as append.lua (now, max age, max messages, idempotency, forget-idle, key expiry,
-- bus channel, actor connection id).
-- ARGV[9] original epoch   ARGV[10] original offset   ARGV[11] operation id ('' none)   ARGV[12] action (1, 2, 5)
-- ARGV[13] the operation's msgpack key/value pairs (id, action, serial, data, encoding, version, connectionId)
-- ARGV[14] their count      ARGV[15] name pair ('' keeps the current)   ARGV[16] extras pair ('' keeps the current)
-- ARGV[17] data kind of the operation (n, t, o)   ARGV[18] actor clientId ('' none)   ARGV[19] 1 if it may change any message
-- ARGV[20] maxMessageSize (0 none)   ARGV[21] the operation's data size in bytes
-- ARGV[22] the acting connection's appendRollupWindow in ms, published after the message for receivers' rollup
-- ARGV[23] after: the id of the message that must already be stored ('' for none), as in append.lua
-- Returns { epoch, timestamp, 'ok', offset, stored message } | { epoch, 0, 'dup', serial } | { epoch, 0, 'err', code }
-- | { epoch, 0, 'order' } when `after` is not stored (nothing is appended)
-- | { epoch, 0, 'err', 40009, size } when an append would make the message's data larger than maxMessageSize.
-- The stored and published message is the broadcast form, as Ably sends it: the operation's fields plus the merged
-- name (appends included) and extras, the original's clientId and create time; readers add version.serial and
-- version.timestamp from the entry.
local now, max_age, max_messages = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local window, forget, expiry = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local bus, connection = ARGV[7], ARGV[8]
local target_epoch, target, id, action = ARGV[9], tonumber(ARGV[10]), ARGV[11], ARGV[12]
local pairs_raw, pair_count, name_pair, extras_pair = ARGV[13], tonumber(ARGV[14]), ARGV[15], ARGV[16]
local op_kind, actor, may_any = ARGV[17], ARGV[18], ARGV[19] == '1'
local max_size, op_size, rollup, after = tonumber(ARGV[20]), tonumber(ARGV[21]), tonumber(ARGV[22]), ARGV[23]

local epoch, last, last_ts = open_channel(now, forget, true)

local expired = redis.call('ZRANGEBYSCORE', idexp, '-inf', now, 'LIMIT', 0, 500)
if #expired > 0 then
  redis.call('HDEL', ids, unpack(expired))
  redis.call('ZREM', idexp, unpack(expired))
end

if id ~= '' and has_id(id, now) then
  local serial = redis.call('HGET', ids, id)
  if serial then
    return { epoch, 0, 'dup', serial }
  end
end

-- A publisher's retried append never overtakes its earlier one.
if after ~= '' and not has_id(after, now) then
  return { epoch, 0, 'order' }
end

if target_epoch ~= epoch or target > last then
  return { epoch, 0, 'err', 40400 }
end
local original = redis.call('XRANGE', stream, entry_id(target), entry_id(target))[1]
if original == nil then
  return { epoch, 0, 'err', 40400 }
end
local head = fields_of(original)
-- Versions are not targets; nor are messages stored before the channel was mutable (they lack k).
if head.o ~= nil or head.k == nil then
  return { epoch, 0, 'err', 40400 }
end
if not may_any and (head.c == '' or head.c ~= actor) then
  return { epoch, 0, 'err', 40160 }
end

local current = head
local latest = redis.call('ZREVRANGEBYSCORE', versions, target, target, 'LIMIT', 0, 1)[1]
if latest ~= nil then
  local entry = redis.call('XRANGE', stream, entry_id(tonumber(latest)), entry_id(tonumber(latest)))[1]
  if entry ~= nil then
    current = fields_of(entry)
  end
end

-- MutationRules: appends join plain text (or nothing); updates and deletes with data set the kind.
local kind, size = current.k, tonumber(current.z or '0')
if action == '5' then
  if kind ~= 'n' and kind ~= 't' then
    return { epoch, 0, 'err', 40013 }
  end
  size = size + op_size
  if max_size > 0 and size > max_size then
    return { epoch, 0, 'err', 40009, size }
  end
  kind = 't'
elseif op_kind ~= 'n' then
  kind = op_kind
  size = op_size
end

local name, extras = current.n, current.x
if name_pair ~= '' then
  name = name_pair
end
if extras_pair ~= '' then
  extras = extras_pair
end
local parts, count = { pairs_raw }, pair_count
if name ~= '' then
  parts[#parts + 1] = name
  count = count + 1
end
if extras ~= '' then
  parts[#parts + 1] = extras
  count = count + 1
end
if head.c ~= '' then
  parts[#parts + 1] = cmsgpack.pack('clientId') .. cmsgpack.pack(head.c)
  count = count + 1
end
parts[#parts + 1] = cmsgpack.pack('timestamp') .. cmsgpack.pack(tonumber(head.t))
count = count + 1
-- At most 11 fields: a fixmap header is one byte.
local message = string.char(0x80 + count) .. table.concat(parts)

-- After the original's timestamp, strictly, and never backwards within the channel.
local ts = math.max(now, last_ts, tonumber(head.t) + 1)
last = last + 1
redis.call('XADD', stream, entry_id(last), 't', string.format('%d', ts), 'm', message, 'o', target,
  'k', kind, 'n', name, 'x', extras, 'c', head.c, 'z', size)
redis.call('ZADD', versions, target, string.format('%012d', last))
if id ~= '' then
  redis.call('HSET', ids, id, epoch .. '-' .. string.format('%012d', last))
  redis.call('ZADD', idexp, now + window, id)
end
redis.call('HSET', meta, 'last', last, 'ts', string.format('%d', ts), 'act', string.format('%d', now), 'age', max_age)
trim_channel(last, now, max_age, max_messages)
redis.call('PUBLISH', bus, cmsgpack.pack(1, epoch, connection, ts, last, 1) .. message .. cmsgpack.pack(rollup))
for _, key in ipairs(KEYS) do
  redis.call('PEXPIRE', key, expiry)
end
return { epoch, ts, 'ok', last, message }
