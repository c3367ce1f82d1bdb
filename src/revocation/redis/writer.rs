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
use crate::revocation::redis::scripts::{REQUIRE_RETENTION, REVOKE};

/// Snapshot buckets per kind: about 1,000 records (35 KB) each at
/// 1,000,000 entries.
pub const BUCKETS: usize = 1024;

/// Ids written per script call in bulk revocations.
pub const BULK_CHUNK: usize = 1000;

/// Expired entries dropped per write (amortised expiry; a snapshot skips
/// expired entries anyway).
const EXPIRE_PER_WRITE: usize = 256;

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

    /// Takes the lease `name` for `holder`, or renews it when `holder`
    /// has it: one script, so two instances can never both hold it.
    pub(crate) async fn lease(
        &self,
        name: &str,
        holder: &str,
        ttl: std::time::Duration,
    ) -> Result<bool, StoreError> {
        const LEASE: &str = r"
local held = redis.call('GET', KEYS[1])
if held == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
if not held then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0";
        let mut conn = self.conn.clone();
        let ms = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1);
        let got: i64 = redis::Script::new(LEASE)
            .key(self.keys.lease(name))
            .arg(holder)
            .arg(ms)
            .invoke_async(&mut conn)
            .await
            .map_err(err)?;
        Ok(got == 1)
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
