-- channel.lua: shared by every channel script; RedisScripts prepends it, so it sees the script's KEYS and ARGV.
-- KEYS[1] stream   one entry per message, id "<offset>-0", fields t (timestamp ms) and m (the message, msgpack)
-- KEYS[2] meta     hash: epoch, last (offset), ts (last timestamp), act (last append, ms), age (max age ms)
-- KEYS[3] ids      hash: message id -> serial, for the idempotency window
-- KEYS[4] idexp    sorted set: message id -> expiry ms
-- Offsets are contiguous in the stream (only the oldest entries are ever trimmed), so offset o is entry "o-0".
local stream, meta, ids, idexp = KEYS[1], KEYS[2], KEYS[3], KEYS[4]

local function entry_id(offset)
  return string.format('%d-0', offset)
end

local function entry_offset(entry)
  return tonumber(string.match(entry[1], '^(%d+)'))
end

local function entry_time(entry)
  local fields = entry[2]
  for i = 1, #fields, 2 do
    if fields[i] == 't' then
      return tonumber(fields[i + 1])
    end
  end
  return 0
end

-- The first offset in [lo, hi] stamped at or after ms (hi + 1 if none). Timestamps never decrease along a
-- channel, so this is a binary search of O(log n) point reads.
local function offset_at_or_after(ms, lo, hi)
  local a, b = lo, hi + 1
  while a < b do
    local mid = math.floor((a + b) / 2)
    local entry = redis.call('XRANGE', stream, entry_id(mid), '+', 'COUNT', 1)[1]
    if entry == nil or entry_time(entry) >= ms then
      b = mid
    else
      a = mid + 1
    end
  end
  return a
end

-- The first offset a reader may see: the oldest entry still in the stream that is not older than the cutoff
-- (last + 1 when none). Entries past their age are invisible at once, before an append trims them away.
local function first_visible(last, cutoff)
  local oldest = redis.call('XRANGE', stream, '-', '+', 'COUNT', 1)[1]
  if oldest == nil then
    return last + 1
  end
  local first = entry_offset(oldest)
  if entry_time(oldest) >= cutoff then
    return first
  end
  return offset_at_or_after(cutoff, first + 1, last)
end

local function new_epoch(now, previous)
  local epoch = now
  if previous ~= nil and tonumber(previous) >= epoch then
    epoch = tonumber(previous) + 1
  end
  return string.format('%014d', epoch)
end

-- Opens the channel: returns epoch, last offset, last timestamp and max age, or nil when it does not exist and
-- create is false. A channel idle for longer than forget_ms with nothing retained and no live message id is
-- forgotten (the embedded engine's sweep, applied lazily) and comes back with a new, greater epoch, as does a
-- channel whose keys were lost (a Redis restart without persistence).
local function open_channel(now, forget_ms, create)
  local m = redis.call('HMGET', meta, 'epoch', 'last', 'ts', 'act', 'age')
  -- HMGET answers false (not nil) for a missing field.
  local epoch, last, ts, act, age = m[1] or nil, tonumber(m[2]) or 0, tonumber(m[3]) or 0, tonumber(m[4]) or 0, tonumber(m[5])
  local previous = nil
  if epoch and now - act > forget_ms then
    local retained = age ~= nil and first_visible(last, now - age) <= last
    if not retained and redis.call('ZCOUNT', idexp, '(' .. now, '+inf') == 0 then
      previous = epoch
      epoch = nil
    end
  end
  if epoch == nil then
    if not create then
      return nil
    end
    redis.call('DEL', stream, ids, idexp)
    epoch, last, ts, age = new_epoch(now, previous), 0, 0, nil
    redis.call('DEL', meta)
    redis.call('HSET', meta, 'epoch', epoch, 'last', 0, 'ts', 0, 'act', now)
  end
  return epoch, last, ts, age
end

-- Readers see entries up to their age; a channel that never had an append has no age and nothing to hide.
local function visible_from(last, now, age)
  if age == nil then
    return first_visible(last, -1)
  end
  return first_visible(last, now - age)
end
