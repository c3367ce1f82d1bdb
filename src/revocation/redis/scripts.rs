//! The Lua scripts of the write path: each runs atomically in Redis, so
//! the state and the log never disagree. Kept apart from the Rust that
//! calls them so each reads whole.

/// KEYS: users, users:exp, sessions, log, seq, retention, sweep.
/// ARGV: kind (`u`|`s`), cutoff, keep, now, log max length, expire count,
/// bucket key prefix, bucket count, compact every, ids...
/// Returns `{last log id, keep of the last id}`.
///
/// Besides the hash/sorted sets that answer "what is this id's entry" (for
/// the max-merge and expiry), every changed entry is appended as a record
/// `\n{id}\t{value}` to one of `buckets` strings (`{bucket prefix}{n}`), so a
/// snapshot is a few `MGET`s of big strings instead of a million scan
/// replies. Every `compact_every`-th call compacts one bucket of each kind
/// (round robin):
/// records that are expired or superseded are dropped.
pub(crate) const REVOKE: &str = r"
local kind = ARGV[1]
local cutoff, keep, now = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local maxlen, expire = ARGV[5], tonumber(ARGV[6])
local bprefix, buckets, every = ARGV[7], tonumber(ARGV[8]), tonumber(ARGV[9])
-- The id rule again, before anything is written (a script is not rolled
-- back): a record is `\n{id}\t{value}`, so an id with a control character
-- could forge records, and readers skip ids over the cap. 1041 = a 16-digit
-- tag, ':' and MAX_ID_BYTES (1024).
for i = 10, #ARGV do
  local id = ARGV[i]
  if #id > 1041 or string.find(id, '%c') or not string.find(id, '^%x+:.') then
    return redis.error_reply('reauth: invalid revocation id (empty, too long or a control character)')
  end
end
local function bucket(k, id)
  local h = 0
  for i = 1, #id do h = (h * 31 + string.byte(id, i)) % 1000003 end
  return bprefix .. k .. ':' .. (h % buckets)
end
local function session_value(id)
  local score = redis.call('ZSCORE', KEYS[3], id)
  if score then return string.format('%d', tonumber(score)) end
  return nil
end
-- Expiry of the lookup structures, a bounded number per call. An entry is
-- dropped only when both the writer's clock and Redis's say it is past: a
-- writer whose clock runs ahead cannot expire entries early. (TIME before
-- writes needs effects replication: always on since Redis 7, asked for
-- before.)
if redis.replicate_commands then redis.replicate_commands() end
local expire_at = math.min(now, tonumber(redis.call('TIME')[1]))
local old = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', expire_at, 'LIMIT', 0, expire)
if #old > 0 then
  redis.call('HDEL', KEYS[1], unpack(old))
  redis.call('ZREM', KEYS[2], unpack(old))
end
old = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', expire_at, 'LIMIT', 0, expire)
if #old > 0 then redis.call('ZREM', KEYS[3], unpack(old)) end
-- Every `every`-th call compacts one bucket of each kind (round robin): keep
-- each id's current record once, drop expired and superseded ones.
local calls = redis.call('INCR', KEYS[7])
local sweep = math.floor(calls / every) % buckets
for _, k in ipairs(calls % every == 0 and {'u', 's'} or {}) do
  local key = bprefix .. k .. ':' .. sweep
  local text = redis.call('GET', key)
  if text then
    local out, seen = {}, {}
    for id in string.gmatch(text, '\n([^\t\n]+)\t[^\n]*') do
      if not seen[id] then
        seen[id] = true
        local cur
        if k == 'u' then cur = redis.call('HGET', KEYS[1], id) else cur = session_value(id) end
        if cur then out[#out + 1] = '\n' .. id .. '\t' .. cur end
      end
    end
    if #out == 0 then redis.call('DEL', key) else redis.call('SET', key, table.concat(out)) end
  end
end
local floor = tonumber(redis.call('GET', KEYS[6]) or '0') or 0
if kind == 'u' then keep = math.max(keep, cutoff + floor) else keep = math.max(keep, now + floor) end
local last, k = '', keep
for i = 10, #ARGV do
  local id = ARGV[i]
  local c = 0
  k = keep
  if kind == 'u' then
    c = cutoff
    local cur = redis.call('HGET', KEYS[1], id)
    if cur then
      local cc, ck = string.match(cur, '^(-?%d+):(-?%d+)$')
      if cc then c = math.max(c, tonumber(cc)); k = math.max(k, tonumber(ck)) end
    end
    local value = string.format('%d:%d', c, k)
    if value ~= cur then
      redis.call('HSET', KEYS[1], id, value)
      redis.call('ZADD', KEYS[2], k, id)
      redis.call('APPEND', bucket('u', id), '\n' .. id .. '\t' .. value)
    end
  else
    local cur = tonumber(redis.call('ZSCORE', KEYS[3], id) or '')
    if cur then k = math.max(k, cur) end
    if k ~= cur then
      redis.call('ZADD', KEYS[3], k, id)
      redis.call('APPEND', bucket('s', id), '\n' .. id .. '\t' .. string.format('%d', k))
    end
  end
  local n = redis.call('INCR', KEYS[5])
  last = redis.call('XADD', KEYS[4], 'MAXLEN', '~', maxlen, '*',
    'n', n, 'k', kind, 'i', id, 'c', string.format('%d', c), 'e', string.format('%d', k))
end
return {last, string.format('%d', k)}
";

/// Raises the retention floor to ARGV[1] seconds, never lowers it.
pub(crate) const REQUIRE_RETENTION: &str = r"
local cur = tonumber(redis.call('GET', KEYS[1]) or '0') or 0
local want = tonumber(ARGV[1])
if want > cur then redis.call('SET', KEYS[1], string.format('%d', want)) return want end
return cur
";
