-- channel.lua: shared by every channel script; RedisScripts prepends it, so it sees the script's KEYS and ARGV.
-- KEYS[1] stream   one entry per message, id "<offset>-0", fields t (timestamp ms) and m (the message, msgpack)
-- KEYS[2] meta     hash: epoch, last (offset), ts (last timestamp), act (last append, ms), age (max age ms)
-- KEYS[3] ids      hash: message id -> serial, for the idempotency window
-- KEYS[4] idexp    sorted set: message id -> expiry ms
-- KEYS[5] versions sorted set: score original offset, member version offset (%012d), for mutable channels
-- Offsets are contiguous in the stream (only the oldest entries are ever trimmed), so offset o is entry "o-0".
-- In mutable channels entries also carry k (data kind: n none, t plain text, o other), n and x (the message's
-- current name and extras, raw msgpack key/value pairs, '' if none), c (the original's clientId) and z (the message's
-- data size in bytes now; absent on entries stored before it was kept); a version entry (update, delete or append)
-- also carries o, its original's offset, and holds the merged name and extras.
local stream, meta, ids, idexp, versions = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]

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
    redis.call('DEL', stream, ids, idexp, versions)
    epoch, last, ts, age = new_epoch(now, previous), 0, 0, nil
    redis.call('DEL', meta)
    redis.call('HSET', meta, 'epoch', epoch, 'last', 0, 'ts', 0, 'act', now)
  end
  return epoch, last, ts, age
end

-- Whether a message id is recorded and still inside the idempotency window (expired ids may linger until swept).
local function has_id(id, now)
  local expires = tonumber(redis.call('ZSCORE', idexp, id))
  return expires ~= nil and expires > now
end

-- Readers see entries up to their age; a channel that never had an append has no age and nothing to hide.
local function visible_from(last, now, age)
  if age == nil then
    return first_visible(last, -1)
  end
  return first_visible(last, now - age)
end

-- An entry's fields as a table.
local function fields_of(entry)
  local fields, t = entry[2], {}
  for i = 1, #fields, 2 do
    t[fields[i]] = fields[i + 1]
  end
  return t
end

local function is_version(entry)
  local fields = entry[2]
  for i = 1, #fields, 2 do
    if fields[i] == 'o' then
      return true
    end
  end
  return false
end

-- Trims by age and count after an append, and drops the version index of trimmed originals.
local function trim_channel(last, now, max_age, max_messages)
  local cutoff = first_visible(last, now - max_age)
  local oldest = redis.call('XRANGE', stream, '-', '+', 'COUNT', 1)[1]
  if oldest ~= nil and entry_offset(oldest) < cutoff then
    redis.call('XTRIM', stream, 'MINID', '=', entry_id(cutoff))
  end
  redis.call('XTRIM', stream, 'MAXLEN', '=', max_messages)
  oldest = redis.call('XRANGE', stream, '-', '+', 'COUNT', 1)[1]
  if oldest ~= nil then
    redis.call('ZREMRANGEBYSCORE', versions, '-inf', '(' .. entry_offset(oldest))
  end
end

-- The version entries of the original at offset, oldest first, up to offset bound.
local function versions_of(original, bound)
  local found = {}
  for _, member in ipairs(redis.call('ZRANGEBYSCORE', versions, original, original)) do
    local offset = tonumber(member)
    if offset <= bound then
      local entry = redis.call('XRANGE', stream, entry_id(offset), entry_id(offset))[1]
      if entry ~= nil then
        found[#found + 1] = entry
      end
    end
  end
  return found
end

-- Up to limit original entries (versions skipped) from offset from towards offset to (step 1 or -1), then the
-- offset of the next original beyond them (0 if none); with their versions up to bound, as { originals, versions }.
local function collect_originals(from, to, step, limit, bound)
  local originals, folded, next_offset = {}, {}, 0
  local cursor = from
  while next_offset == 0 and ((step > 0 and cursor <= to) or (step < 0 and cursor >= to)) do
    local chunk
    if step > 0 then
      chunk = redis.call('XRANGE', stream, entry_id(cursor), entry_id(to), 'COUNT', 256)
    else
      chunk = redis.call('XREVRANGE', stream, entry_id(cursor), entry_id(to), 'COUNT', 256)
    end
    if #chunk == 0 then
      break
    end
    for _, entry in ipairs(chunk) do
      if not is_version(entry) then
        if #originals == limit then
          next_offset = entry_offset(entry)
          break
        end
        originals[#originals + 1] = entry
        folded[#folded + 1] = versions_of(entry_offset(entry), bound)
      end
    end
    cursor = entry_offset(chunk[#chunk]) + step
  end
  return originals, folded, next_offset
end
