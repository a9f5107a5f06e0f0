-- append.lua: appends messages to one channel and publishes them on the bus, atomically.
-- KEYS: see channel.lua (stream, meta, ids, idexp).
-- ARGV[1] now ms            ARGV[2] max age ms            ARGV[3] max messages
-- ARGV[4] idempotency ms    ARGV[5] forget-idle ms        ARGV[6] key expiry ms (garbage collection)
-- ARGV[7] bus channel       ARGV[8] publisher connection id ('' for REST)
-- ARGV[9] n, ARGV[10] stride (2, or 7 in mutable channels), ARGV[11] after: the id of the message that must already be
-- stored ('' for none; see has_id in channel.lua), then n groups: message id ('' for none), message
-- (msgpack, without serial and timestamp), and in mutable channels its k, n, x, c and z fields (see channel.lua)
-- Returns { epoch, -1 } when `after` is not stored (nothing is appended), else { epoch, timestamp, then per message:
-- its offset (integer) if appended, or the serial (string) of the earlier message with the same id inside the
-- idempotency window }.
-- Publishes: msgpack 1, epoch, connection id, timestamp, first offset, count, then the appended messages as they
-- were stored. The script runs atomically, so bus order is log order, across every node appending.
local now, max_age, max_messages = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local window, forget, expiry = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local bus, connection, n, stride, after = ARGV[7], ARGV[8], tonumber(ARGV[9]), tonumber(ARGV[10]), ARGV[11]

local epoch, last, last_ts = open_channel(now, forget, true)

-- Forget expired ids; bounded per call, and each lookup checks the expiry itself.
local expired = redis.call('ZRANGEBYSCORE', idexp, '-inf', now, 'LIMIT', 0, 500)
if #expired > 0 then
  redis.call('HDEL', ids, unpack(expired))
  redis.call('ZREM', idexp, unpack(expired))
end

-- A publisher's retried append never overtakes its earlier one.
if after ~= '' and not has_id(after, now) then
  return { epoch, -1 }
end

-- Timestamps never go backwards within a channel, whichever node's clock stamped the previous append.
local ts = math.max(now, last_ts)
local result = { epoch, ts }
local appended = {}
local first = last + 1
for i = 1, n do
  local base = 11 + stride * (i - 1)
  local id, message = ARGV[base + 1], ARGV[base + 2]
  local serial = nil
  if id ~= '' and has_id(id, now) then
    serial = redis.call('HGET', ids, id)
  end
  if serial then
    result[#result + 1] = serial
  else
    last = last + 1
    if stride == 7 then
      redis.call('XADD', stream, entry_id(last), 't', string.format('%d', ts), 'm', message,
        'k', ARGV[base + 3], 'n', ARGV[base + 4], 'x', ARGV[base + 5], 'c', ARGV[base + 6], 'z', ARGV[base + 7])
    else
      redis.call('XADD', stream, entry_id(last), 't', string.format('%d', ts), 'm', message)
    end
    appended[#appended + 1] = message
    result[#result + 1] = last
    if id ~= '' then
      redis.call('HSET', ids, id, epoch .. '-' .. string.format('%012d', last))
      redis.call('ZADD', idexp, now + window, id)
    end
  end
end

if #appended > 0 then
  redis.call('HSET', meta, 'last', last, 'ts', string.format('%d', ts), 'act', string.format('%d', now), 'age', max_age)
  trim_channel(last, now, max_age, max_messages)
  redis.call('PUBLISH', bus, cmsgpack.pack(1, epoch, connection, ts, first, #appended) .. table.concat(appended))
  for _, key in ipairs(KEYS) do
    redis.call('PEXPIRE', key, expiry)
  end
end

return result
