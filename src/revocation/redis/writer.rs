//! The write path: one Lua script updates the state and appends to the log
//! in one atomic step, so state and log never disagree. Writes never read
//! the store into this process: one round trip per call (plus `WAIT` when
//! replicas must confirm), and a bulk call writes up to [`BULK_CHUNK`] ids
//! per round trip.

use std::time::Duration;

use redis::{Script, Value};

use super::conn::{Conn, Target};
use crate::error::StoreError;
use crate::revocation::namespace::Namespace;
use crate::revocation::redis::config::{RedisStoreConfig, ReplicaAcks};
use crate::revocation::redis::keys::{Keys, err};

/// Snapshot buckets per kind: about 1,000 records (35 KB) each at
/// 1,000,000 entries.
pub const BUCKETS: usize = 1024;

/// Ids written per script call in bulk revocations.
pub const BULK_CHUNK: usize = 1000;

/// Expired entries dropped per write (amortised expiry; a snapshot skips
/// expired entries anyway).
const EXPIRE_PER_WRITE: usize = 256;

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
const REVOKE: &str = r"
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
const REQUIRE_RETENTION: &str = r"
local cur = tonumber(redis.call('GET', KEYS[1]) or '0') or 0
local want = tonumber(ARGV[1])
if want > cur then redis.call('SET', KEYS[1], string.format('%d', want)) return want end
return cur
";

/// Which kind of entry a write makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    User,
    Session,
}

impl Kind {
    pub fn code(self) -> &'static str {
        match self {
            Self::User => "u",
            Self::Session => "s",
        }
    }
}

/// Writes revocations to Redis without ever loading its state: what
/// `reauth revoke` uses, and the write half of a `RedisStore`.
#[derive(Clone)]
pub struct RedisWriter {
    pub(super) conn: Conn,
    pub(super) keys: Keys,
    log_max_len: u64,
    compact_every: u32,
    /// Replicas that must confirm each write, and for how long to wait.
    acks: Option<(usize, Duration)>,
    script: Script,
}

impl std::fmt::Debug for RedisWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisWriter")
            .field("prefix", &self.keys.prefix)
            .field("replica_acks", &self.acks)
            .finish_non_exhaustive()
    }
}

impl RedisWriter {
    /// Connects (one Redis, or a cluster: see `RedisStoreConfig::url`) and
    /// decides how many replicas must confirm each write.
    pub async fn connect(config: &RedisStoreConfig) -> Result<Self, StoreError> {
        config.validate()?;
        let target = Target::parse(&config.url)?;
        let conn = target.connect(config.write_timeout()).await?;
        Self::with_conn(conn, config).await
    }

    pub(super) async fn with_conn(
        mut conn: Conn,
        config: &RedisStoreConfig,
    ) -> Result<Self, StoreError> {
        let keys = Keys::new(&config.key_prefix);
        let acks = match config.replica_acks {
            ReplicaAcks::None => None,
            ReplicaAcks::Wait { replicas, timeout } => Some((replicas, timeout)),
            ReplicaAcks::Auto { timeout } => {
                let info = conn
                    .on_master_of(&keys.log, redis::cmd("INFO").arg("replication").clone())
                    .await?;
                (connected_replicas(&info) > 0).then_some((1, timeout))
            }
        };
        Ok(Self {
            conn,
            keys,
            log_max_len: config.log_max_len,
            compact_every: config.compact_every,
            acks,
            script: Script::new(REVOKE),
        })
    }

    /// Replicas each write waits for (0 when none).
    pub fn replica_acks(&self) -> usize {
        self.acks.map_or(0, |(n, _)| n)
    }

    /// Writes `ids` of one kind; returns the `keep_until` of the last one
    /// (raised to the retention floor registered in Redis).
    pub(crate) async fn write(
        &self,
        kind: Kind,
        ns: &Namespace,
        ids: &[&str],
        cutoff: i64,
        keep_until: i64,
        now: i64,
    ) -> Result<i64, StoreError> {
        // The id rule before any write (callers check it too; this is the
        // last line before the shared log every gate reads).
        if let Some((id, e)) = ids
            .iter()
            .find_map(|id| crate::jwt::id::check_id(id).err().map(|e| (id, e)))
        {
            return Err(StoreError(format!(
                "not written: id {:?}: {e}",
                crate::jwt::token::truncate(id)
            )));
        }
        let mut conn = self.conn.clone();
        let k = &self.keys;
        let mut inv = self.script.prepare_invoke();
        inv.key(&k.users)
            .key(&k.users_exp)
            .key(&k.sessions)
            .key(&k.log)
            .key(&k.seq)
            .key(&k.retention)
            .key(&k.sweep)
            .arg(kind.code())
            .arg(cutoff)
            .arg(keep_until)
            .arg(now)
            .arg(self.log_max_len)
            .arg(EXPIRE_PER_WRITE)
            .arg(&k.bucket_prefix)
            .arg(BUCKETS)
            .arg(self.compact_every);
        for id in ids {
            inv.arg(ns.scoped(id));
        }
        // A connection Redis dropped (a restart, `CLIENT KILL`, a failover)
        // fails the first command on it; the write is idempotent, so it is
        // sent once more on the reconnected connection.
        let (_last, keep): (String, i64) = match inv.invoke_async(&mut conn).await {
            Err(e) if e.is_connection_dropped() || e.is_io_error() => {
                inv.invoke_async(&mut conn).await.map_err(err)?
            }
            other => other.map_err(err)?,
        };
        self.await_replicas(&mut conn).await?;
        Ok(keep)
    }

    /// Waits until the configured replicas have every write made so far on
    /// this connection. A timeout is an error: the write is on the master
    /// but would be lost if the master failed now; retrying is safe (writes
    /// are idempotent).
    async fn await_replicas(&self, conn: &mut Conn) -> Result<(), StoreError> {
        let Some((replicas, timeout)) = self.acks else {
            return Ok(());
        };
        let ms = u64::try_from(timeout.as_millis())
            .unwrap_or(u64::MAX)
            .max(1);
        let acked = conn
            .on_master_of(
                &self.keys.log,
                redis::cmd("WAIT").arg(replicas).arg(ms).clone(),
            )
            .await?;
        let acked: i64 = redis::from_redis_value(acked).map_err(err)?;
        if acked < i64::try_from(replicas).unwrap_or(i64::MAX) {
            return Err(err(format!(
                "written to the master, but {acked} of {replicas} replica(s) confirmed within {ms} ms; \
                 it could be lost in a failover: retry"
            )));
        }
        Ok(())
    }

    /// Revokes many sessions (`BULK_CHUNK` per round trip); `progress` is
    /// called with the count written so far.
    pub async fn revoke_sessions(
        &self,
        ns: &Namespace,
        sids: &[String],
        keep_until: i64,
        now: i64,
        progress: impl FnMut(usize),
    ) -> Result<usize, StoreError> {
        self.bulk(Kind::Session, ns, sids, 0, keep_until, now, progress)
            .await
    }

    /// Revokes the logins of many users at or before `cutoff`.
    pub async fn revoke_users(
        &self,
        ns: &Namespace,
        subs: &[String],
        cutoff: i64,
        keep_until: i64,
        now: i64,
        progress: impl FnMut(usize),
    ) -> Result<usize, StoreError> {
        self.bulk(Kind::User, ns, subs, cutoff, keep_until, now, progress)
            .await
    }

    #[allow(clippy::too_many_arguments)]
    async fn bulk(
        &self,
        kind: Kind,
        ns: &Namespace,
        ids: &[String],
        cutoff: i64,
        keep_until: i64,
        now: i64,
        mut progress: impl FnMut(usize),
    ) -> Result<usize, StoreError> {
        let mut done = 0;
        for chunk in ids.chunks(BULK_CHUNK) {
            let refs: Vec<&str> = chunk.iter().map(String::as_str).collect();
            self.write(kind, ns, &refs, cutoff, keep_until, now).await?;
            done += chunk.len();
            progress(done);
        }
        Ok(done)
    }

    /// Records a logout token's `jti` (`SET NX`); false when already there.
    pub(crate) async fn record_jti(
        &self,
        ns: &Namespace,
        jti: &str,
        keep_until: i64,
    ) -> Result<bool, StoreError> {
        let mut conn = self.conn.clone();
        let set: Option<String> = redis::cmd("SET")
            .arg(self.keys.jti(&ns.scoped(jti)))
            .arg(1)
            .arg("NX")
            .arg("EXAT")
            .arg(keep_until)
            .query_async(&mut conn)
            .await
            .map_err(err)?;
        self.await_replicas(&mut conn).await?;
        Ok(set.is_some())
    }

    /// Records that a verifier of `issuer` uses this store (a gate, at
    /// start or on a tenant's discovery), so `reauth revoke` can tell an
    /// issuer no gate serves from a typo.
    pub async fn register_issuer(&self, issuer: &str, now: i64) -> Result<(), StoreError> {
        let mut conn = self.conn.clone();
        let _: i64 = redis::cmd("HSET")
            .arg(&self.keys.issuers)
            .arg(issuer)
            .arg(now)
            .query_async(&mut conn)
            .await
            .map_err(err)?;
        Ok(())
    }

    /// Whether a verifier of `issuer` has used this store, and (for the
    /// error message) up to `list` of the issuers that have, with their
    /// total count.
    pub async fn registered_issuers(
        &self,
        issuer: &str,
        list: usize,
    ) -> Result<RegisteredIssuers, StoreError> {
        let mut conn = self.conn.clone();
        let (known, total): (bool, usize) = redis::pipe()
            .cmd("HEXISTS")
            .arg(&self.keys.issuers)
            .arg(issuer)
            .cmd("HLEN")
            .arg(&self.keys.issuers)
            .query_async(&mut conn)
            .await
            .map_err(err)?;
        let mut some = Vec::new();
        if !known && total > 0 {
            // HSCAN, never HKEYS: a thousand tenants stay one short reply.
            let (_cursor, flat): (String, Vec<String>) = redis::cmd("HSCAN")
                .arg(&self.keys.issuers)
                .arg(0)
                .arg("COUNT")
                .arg(list.max(1))
                .query_async(&mut conn)
                .await
                .map_err(err)?;
            some = flat.chunks(2).map(|p| p[0].clone()).take(list).collect();
        }
        Ok(RegisteredIssuers { known, total, some })
    }

    /// Raises the retention floor every writer honours.
    pub(crate) async fn require_retention(&self, keep: Duration) -> Result<(), StoreError> {
        let mut conn = self.conn.clone();
        let secs = i64::try_from(keep.as_secs()).unwrap_or(i64::MAX);
        let _: i64 = Script::new(REQUIRE_RETENTION)
            .key(&self.keys.retention)
            .arg(secs)
            .invoke_async(&mut conn)
            .await
            .map_err(err)?;
        Ok(())
    }
}

/// What [`RedisWriter::registered_issuers`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RegisteredIssuers {
    /// The issuer asked about is registered.
    pub known: bool,
    /// Issuers registered in all.
    pub total: usize,
    /// Some of them, when the one asked about is not.
    pub some: Vec<String>,
}

/// `connected_slaves:N` from `INFO replication` (0 when absent).
fn connected_replicas(info: &Value) -> usize {
    let text: String = redis::from_redis_value(info.clone()).unwrap_or_default();
    text.lines()
        .find_map(|l| l.strip_prefix("connected_slaves:"))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(0)
}
