//! Revocations shared by every instance through Redis (feature `redis`).
//!
//! Layout (all under `key_prefix`, default `reauth`; `{tag}` is the
//! [`issuer_tag`](super::issuer_tag) of the token's issuer):
//! - `{p}:user:{tag}:{sub}` = `"{cutoff}:{keep_until}"`, expiring at `keep_until`;
//! - `{p}:sid:{tag}:{sid}` = `"{keep_until}"`, expiring at `keep_until`;
//! - `{p}:jti:{tag}:{jti}`, `SET NX` until the logout token's `exp`;
//! - `{p}:retention`, the longest keep period (seconds) any verifier using
//!   this prefix registered: every write keeps its entry at least that long
//!   after its cut-off, whatever the writer asked;
//! - `{p}:version`, incremented by every revocation;
//! - channel `{p}:events`, one message per revocation: `{version}|u|{cutoff}|{keep}|{sub}`
//!   or `{version}|s|0|{keep}|{sid}` (`{sub}` and `{sid}` as `{tag}:{id}`).
//!
//! Each instance keeps a local mirror, so the request path makes no network
//! call. The mirror is updated at once from pub/sub, and a poll of
//! `{p}:version` every `sync_interval` reloads it whenever a message was
//! missed. **Bound**: a revocation reaches every instance within
//! milliseconds with pub/sub, and within `sync_interval` (default 1 s) plus
//! one round trip without it. **Redis unreachable**: once the mirror has not
//! been confirmed for `max_staleness` (default 5 s), checks fail with
//! `revocation_unavailable` (503), unless [`WhenUnreachable::UseLastKnown`]
//! allows the last known state for a bounded time more. Requires Redis 6.2+.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{Client, Script};
use tokio::sync::Notify;

use super::{BoxFuture, MemoryStore, RevocationStore, Revoked, StoreError, scoped};

/// What checks do when Redis cannot be reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum WhenUnreachable {
    /// Fail closed once the mirror is older than `max_staleness`: 503. The default.
    #[default]
    FailClosed,
    /// Keep answering from the last known state for this long beyond
    /// `max_staleness`, then fail closed.
    UseLastKnown(Duration),
}

/// Settings of a [`RedisStore`].
#[derive(Debug, Clone)]
pub struct RedisStoreConfig {
    /// `redis://host:port/db`.
    pub url: String,
    /// Prefix of every key and of the channel. Defaults to `reauth`.
    pub key_prefix: String,
    /// How often the version is polled (and the mirror reloaded when it
    /// moved). Defaults to 1 s.
    pub sync_interval: Duration,
    /// How old the last confirmed sync may be before checks fail. Defaults to 5 s.
    pub max_staleness: Duration,
    /// Behaviour when Redis is unreachable. Defaults to [`WhenUnreachable::FailClosed`].
    pub when_unreachable: WhenUnreachable,
    /// Listen on pub/sub for immediate updates. Defaults to `true`.
    pub pubsub: bool,
    /// Connect and response timeout of each command. Defaults to 1 s.
    pub command_timeout: Duration,
}

impl RedisStoreConfig {
    /// The defaults, for `url`.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            key_prefix: "reauth".into(),
            sync_interval: Duration::from_secs(1),
            max_staleness: Duration::from_secs(5),
            when_unreachable: WhenUnreachable::FailClosed,
            pubsub: true,
            command_timeout: Duration::from_secs(1),
        }
    }
}

/// A [`RevocationStore`] shared through Redis, answering from a local mirror.
pub struct RedisStore {
    config: RedisStoreConfig,
    conn: ConnectionManager,
    mirror: MemoryStore,
    version: AtomicI64,
    last_sync: Mutex<Instant>,
    sync_lock: tokio::sync::Mutex<()>,
    resync: Arc<Notify>,
    /// The write scripts, hashed once (EVALSHA, falling back to EVAL).
    revoke_user_script: Script,
    revoke_session_script: Script,
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisStore")
            .field("prefix", &self.config.key_prefix)
            .field("version", &self.version.load(Ordering::SeqCst))
            .finish_non_exhaustive()
    }
}

fn err(e: impl std::fmt::Display) -> StoreError {
    StoreError(format!("redis: {e}"))
}

const REVOKE_USER: &str = r"
local cutoff, keep = tonumber(ARGV[1]), tonumber(ARGV[2])
local floor = tonumber(redis.call('GET', KEYS[3]) or '0') or 0
keep = math.max(keep, cutoff + floor)
local cur = redis.call('GET', KEYS[1])
if cur then
  local c, k = string.match(cur, '^(-?%d+):(-?%d+)$')
  if c then cutoff = math.max(cutoff, tonumber(c)); keep = math.max(keep, tonumber(k)) end
end
local value = string.format('%d:%d', cutoff, keep)
redis.call('SET', KEYS[1], value, 'EXAT', keep)
local v = redis.call('INCR', KEYS[2])
redis.call('PUBLISH', ARGV[3], string.format('%d|u|%d|%d|', v, cutoff, keep) .. ARGV[4])
return {v, keep}
";

const REVOKE_SESSION: &str = r"
local keep = tonumber(ARGV[1])
local floor = tonumber(redis.call('GET', KEYS[3]) or '0') or 0
keep = math.max(keep, tonumber(ARGV[4]) + floor)
local cur = tonumber(redis.call('GET', KEYS[1]) or '')
if cur then keep = math.max(keep, cur) end
redis.call('SET', KEYS[1], string.format('%d', keep), 'EXAT', keep)
local v = redis.call('INCR', KEYS[2])
redis.call('PUBLISH', ARGV[2], string.format('%d|s|0|%d|', v, keep) .. ARGV[3])
return {v, keep}
";

/// Raises `{p}:retention` to ARGV[1] seconds, never lowers it.
const REQUIRE_RETENTION: &str = r"
local cur = tonumber(redis.call('GET', KEYS[1]) or '0') or 0
local want = tonumber(ARGV[1])
if want > cur then redis.call('SET', KEYS[1], string.format('%d', want)) return want end
return cur
";

impl RedisStore {
    /// Connects, loads the current state (up to three tries), and starts the
    /// background sync (and pub/sub listener). Fails if Redis cannot be
    /// reached now.
    pub async fn connect(config: RedisStoreConfig) -> Result<Arc<Self>, StoreError> {
        let client = Client::open(config.url.as_str()).map_err(err)?;
        let cm_config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(config.command_timeout))
            .set_response_timeout(Some(config.command_timeout))
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_millis(500));
        let conn = tokio::time::timeout(
            config.command_timeout.saturating_mul(3),
            client.get_connection_manager_with_config(cm_config),
        )
        .await
        .map_err(|_| err("connect timed out"))?
        .map_err(err)?;
        let store = Arc::new(Self {
            config,
            conn,
            mirror: MemoryStore::new(),
            version: AtomicI64::new(-1),
            last_sync: Mutex::new(Instant::now()),
            sync_lock: tokio::sync::Mutex::new(()),
            resync: Arc::new(Notify::new()),
            revoke_user_script: Script::new(REVOKE_USER),
            revoke_session_script: Script::new(REVOKE_SESSION),
        });
        // A slow first answer (a loaded host, Redis still starting) is not yet
        // an outage: three tries, each bounded by the command timeout.
        let mut attempt = 1;
        while let Err(e) = store.sync_once().await {
            if attempt == 3 {
                return Err(e);
            }
            tracing::warn!(error = %e, attempt, "reauth: first Redis sync failed; retrying");
            attempt += 1;
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        tokio::spawn(sync_loop(
            Arc::downgrade(&store),
            store.resync.clone(),
            store.config.sync_interval,
        ));
        if store.config.pubsub {
            tokio::spawn(pubsub_loop(Arc::downgrade(&store), client, store.channel()));
        }
        Ok(store)
    }

    fn key(&self, kind: &str, id: &str) -> String {
        format!("{}:{kind}:{id}", self.config.key_prefix)
    }

    fn channel(&self) -> String {
        format!("{}:events", self.config.key_prefix)
    }

    fn version_key(&self) -> String {
        format!("{}:version", self.config.key_prefix)
    }

    fn retention_key(&self) -> String {
        format!("{}:retention", self.config.key_prefix)
    }

    /// Polls the version; reloads the mirror when it moved.
    async fn sync_once(&self) -> Result<(), StoreError> {
        let _guard = self.sync_lock.lock().await;
        let mut conn = self.conn.clone();
        let remote: Option<i64> = redis::cmd("GET")
            .arg(self.version_key())
            .query_async(&mut conn)
            .await
            .map_err(err)?;
        let remote = remote.unwrap_or(0);
        if remote != self.version.load(Ordering::SeqCst) {
            let (users, sessions) = self.load_all(&mut conn).await?;
            self.mirror.replace(users, sessions);
            self.version.store(remote, Ordering::SeqCst);
            tracing::debug!(version = remote, "reauth: revocation mirror reloaded");
        }
        *self.last_sync.lock().unwrap_or_else(|p| p.into_inner()) = Instant::now();
        Ok(())
    }

    #[allow(clippy::type_complexity)]
    async fn load_all(
        &self,
        conn: &mut ConnectionManager,
    ) -> Result<
        (
            std::collections::HashMap<String, (i64, i64)>,
            std::collections::HashMap<String, i64>,
        ),
        StoreError,
    > {
        let mut users = std::collections::HashMap::new();
        let mut sessions = std::collections::HashMap::new();
        for (kind, prefix) in [("user", self.key("user", "")), ("sid", self.key("sid", ""))] {
            let mut cursor: u64 = 0;
            loop {
                let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN")
                    .arg(cursor)
                    .arg("MATCH")
                    .arg(format!("{prefix}*"))
                    .arg("COUNT")
                    .arg(1000)
                    .query_async(conn)
                    .await
                    .map_err(err)?;
                if !keys.is_empty() {
                    let values: Vec<Option<String>> = redis::cmd("MGET")
                        .arg(&keys)
                        .query_async(conn)
                        .await
                        .map_err(err)?;
                    for (key, value) in keys.iter().zip(values) {
                        let (Some(id), Some(value)) = (key.strip_prefix(&prefix), value) else {
                            continue;
                        };
                        if kind == "user" {
                            if let Some((c, k)) = value.split_once(':') {
                                if let (Ok(c), Ok(k)) = (c.parse(), k.parse()) {
                                    users.insert(id.to_owned(), (c, k));
                                }
                            }
                        } else if let Ok(k) = value.parse() {
                            sessions.insert(id.to_owned(), k);
                        }
                    }
                }
                if next == 0 {
                    break;
                }
                cursor = next;
            }
        }
        Ok((users, sessions))
    }

    /// Applies one event (`{v}|{u|s}|{cutoff}|{keep}|{id}`) if it is the next
    /// version; asks for a full reload when versions were skipped.
    async fn apply_event(&self, payload: &str) {
        let mut parts = payload.splitn(5, '|');
        let (Some(v), Some(kind), Some(cutoff), Some(keep), Some(id)) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return;
        };
        let (Ok(v), Ok(cutoff), Ok(keep)) =
            (v.parse::<i64>(), cutoff.parse::<i64>(), keep.parse::<i64>())
        else {
            return;
        };
        let _guard = self.sync_lock.lock().await;
        let current = self.version.load(Ordering::SeqCst);
        if v <= current {
            return;
        }
        let now = unix_now();
        match kind {
            "u" => self.mirror.apply_user(id, cutoff, keep, now),
            "s" => self.mirror.apply_session(id, keep, now),
            _ => return,
        }
        if v == current + 1 {
            self.version.store(v, Ordering::SeqCst);
        } else {
            // Applied (it can only add revocations), but something was missed.
            self.resync.notify_one();
        }
    }

    fn stale(&self) -> Option<Duration> {
        let age = self
            .last_sync
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .elapsed();
        let allowed = match self.config.when_unreachable {
            WhenUnreachable::FailClosed => self.config.max_staleness,
            WhenUnreachable::UseLastKnown(extra) => self.config.max_staleness.saturating_add(extra),
        };
        (age > allowed).then_some(age)
    }

    async fn bump(&self, v: i64, apply: impl FnOnce(&MemoryStore)) {
        let _guard = self.sync_lock.lock().await;
        apply(&self.mirror);
        if v == self.version.load(Ordering::SeqCst) + 1 {
            self.version.store(v, Ordering::SeqCst);
        }
    }
}

/// The real time: the mirror follows Redis, whose expiries are real time.
fn unix_now() -> i64 {
    chrono::Utc::now().timestamp()
}

async fn sync_loop(store: Weak<RedisStore>, resync: Arc<Notify>, interval: Duration) {
    loop {
        tokio::select! {
            () = tokio::time::sleep(interval) => {}
            () = resync.notified() => {}
        }
        let Some(store) = store.upgrade() else { return };
        if let Err(e) = store.sync_once().await {
            tracing::warn!(error = %e, "reauth: revocation sync failed");
        }
    }
}

async fn pubsub_loop(store: Weak<RedisStore>, client: Client, channel: String) {
    loop {
        if let Ok(mut pubsub) = client.get_async_pubsub().await {
            if pubsub.subscribe(&channel).await.is_ok() {
                // Anything published while we were not listening: reload.
                if let Some(s) = store.upgrade() {
                    s.resync.notify_one();
                }
                let mut messages = pubsub.on_message();
                while let Some(msg) = messages.next().await {
                    let Some(s) = store.upgrade() else { return };
                    if let Ok(payload) = msg.get_payload::<String>() {
                        s.apply_event(&payload).await;
                    }
                }
            }
        }
        if store.strong_count() == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

impl RevocationStore for RedisStore {
    fn check(
        &self,
        issuer: &str,
        sub: &str,
        sid: Option<&str>,
        login_time: i64,
        now: i64,
    ) -> Result<Option<Revoked>, StoreError> {
        if let Some(age) = self.stale() {
            return Err(StoreError(format!(
                "revocation state last confirmed {} ms ago (Redis unreachable?)",
                age.as_millis()
            )));
        }
        Ok(self.mirror.lookup(issuer, sub, sid, login_time, now))
    }

    fn revoke_user<'a>(
        &'a self,
        issuer: &'a str,
        sub: &'a str,
        cutoff: i64,
        keep_until: i64,
        now: i64,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            let mut conn = self.conn.clone();
            let id = scoped(issuer, sub);
            let (v, keep): (i64, i64) = self
                .revoke_user_script
                .key(self.key("user", &id))
                .key(self.version_key())
                .key(self.retention_key())
                .arg(cutoff)
                .arg(keep_until)
                .arg(self.channel())
                .arg(&id)
                .invoke_async(&mut conn)
                .await
                .map_err(err)?;
            self.bump(v, |m| m.apply_user(&id, cutoff, keep, now)).await;
            Ok(())
        })
    }

    fn revoke_session<'a>(
        &'a self,
        issuer: &'a str,
        sid: &'a str,
        keep_until: i64,
        now: i64,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            let mut conn = self.conn.clone();
            let id = scoped(issuer, sid);
            let (v, keep): (i64, i64) = self
                .revoke_session_script
                .key(self.key("sid", &id))
                .key(self.version_key())
                .key(self.retention_key())
                .arg(keep_until)
                .arg(self.channel())
                .arg(&id)
                .arg(now)
                .invoke_async(&mut conn)
                .await
                .map_err(err)?;
            self.bump(v, |m| m.apply_session(&id, keep, now)).await;
            Ok(())
        })
    }

    fn require_retention(&self, keep: Duration) -> BoxFuture<'_, Result<(), StoreError>> {
        Box::pin(async move {
            let mut conn = self.conn.clone();
            let _: i64 = Script::new(REQUIRE_RETENTION)
                .key(self.retention_key())
                .arg(keep.as_secs().min(i64::MAX as u64))
                .invoke_async(&mut conn)
                .await
                .map_err(err)?;
            Ok(())
        })
    }

    fn record_jti<'a>(
        &'a self,
        issuer: &'a str,
        jti: &'a str,
        now: i64,
        keep_until: i64,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(async move {
            let mut conn = self.conn.clone();
            let keep = keep_until.max(now + 1);
            let set: Option<String> = redis::cmd("SET")
                .arg(self.key("jti", &scoped(issuer, jti)))
                .arg(1)
                .arg("NX")
                .arg("EXAT")
                .arg(keep)
                .query_async(&mut conn)
                .await
                .map_err(err)?;
            Ok(set.is_some())
        })
    }
}
