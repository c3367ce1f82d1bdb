//! Revocations shared by every instance through Redis (feature `redis`):
//! a log plus a snapshot.
//!
//! **Layout.** Every key sits under the `{prefix}` hash tag (default
//! `{reauth}`), so all of them live in one hash slot and the scripts and the
//! stream work on a Redis Cluster. Ids are `{issuer tag}:{sub or sid}`
//! ([`Namespace`]).
//! - `{p}:users`: hash, id → `"{cutoff}:{keep_until}"`;
//!   `{p}:users:exp`: sorted set, id → `keep_until` (expiry);
//! - `{p}:sessions`: sorted set, id → `keep_until`;
//! - `{p}:b:u:{n}` and `{p}:b:s:{n}` (n < [`BUCKETS`](writer::BUCKETS)):
//!   strings of records `\n{id}\t{value}`, what a snapshot reads (a few
//!   `MGET`s of large strings, not a million scan replies); each write
//!   compacts one bucket per kind (`{p}:sweep`, round robin);
//! - `{p}:log`: stream, one entry per write (`n`, `k`, `i`, `c`, `e`),
//!   trimmed with `MAXLEN ~` [`RedisStoreConfig::log_max_len`];
//! - `{p}:seq`: the entries' sequence counter;
//! - `{p}:retention`: the longest keep period any verifier registered;
//! - `{p}:issuers`: hash, issuer → when a verifier last registered it (Unix
//!   seconds): the issuers the gates serve, which `reauth revoke` checks
//!   its `--issuer` against;
//! - `{p}:jti:{tag}:{jti}`: logout-token replay records (`SET NX EXAT`).
//!
//! **Writes** ([`RedisWriter`]) are one Lua script that updates the state
//! and appends to the log atomically; they never read the state into the
//! process. **Reads** are local: each instance holds a compact mirror,
//! loaded from a snapshot at start, then follows the log with a blocking
//! `XREAD` from the last entry it applied. See the README's Revocation
//! section for delivery, catch-up, staleness and memory figures.

pub(crate) mod conn;
mod log;
mod snapshot;
mod writer;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use tokio::sync::Notify;

pub use log::{Entry, Event, LogError, parse_fields, parse_xread};
pub use snapshot::{parse_bucket, parse_bucket_bytes, parse_user_value};
pub use writer::{BUCKETS, BULK_CHUNK, RedisWriter, RegisteredIssuers};

use crate::error::StoreError;
use crate::revocation::mirror::Mirror;
use crate::revocation::namespace::Namespace;
use crate::revocation::store::{BoxFuture, RevocationStore, Revoked};
use conn::{Conn, Target};
use log::Next;
use snapshot::Load;
use writer::Kind;

/// What checks do when Redis cannot be reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum WhenUnreachable {
    /// Fail closed once the mirror was last confirmed more than
    /// `max_staleness` ago: 503. The default.
    #[default]
    FailClosed,
    /// Keep answering from the last known state for this long beyond
    /// `max_staleness`, then fail closed.
    UseLastKnown(Duration),
}

/// How many replicas must confirm a write before it is acknowledged
/// (Redis replication is asynchronous: without this, a write acknowledged
/// by a master that fails a moment later can be lost).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplicaAcks {
    /// One replica, when the master has any connected at start; none
    /// otherwise. The default, with a 1 s timeout.
    Auto {
        /// How long a write waits for its replica.
        timeout: Duration,
    },
    /// Never wait.
    None,
    /// Always wait for this many replicas.
    Wait {
        /// Replicas that must confirm.
        replicas: usize,
        /// How long a write waits for them; then it is an error (the write
        /// is on the master, and retrying is safe).
        timeout: Duration,
    },
}

/// Settings of a [`RedisStore`] or a [`RedisWriter`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct RedisStoreConfig {
    /// `redis://host:port/db` for one Redis; `redis+cluster://h1:p1,h2:p2`
    /// (or several comma-separated `redis://` URLs) for a Redis Cluster.
    pub url: String,
    /// Prefix of every key, used as the cluster hash tag. Defaults to `reauth`.
    pub key_prefix: String,
    /// How old the last position confirmed against Redis may be before
    /// checks fail. Defaults to 5 s.
    pub max_staleness: Duration,
    /// Behaviour when Redis is unreachable. Defaults to [`WhenUnreachable::FailClosed`].
    pub when_unreachable: WhenUnreachable,
    /// How long a check that finds the mirror stale may wait for the log
    /// reader to confirm it current again (an instance resuming from a
    /// pause, a dropped connection being reopened) before it fails closed.
    /// A check waits only while the reader is not failing: once Redis has
    /// refused a reconnect, checks fail at once. Zero disables the wait.
    /// Defaults to 1 s; at most 60 s.
    pub catch_up_wait: Duration,
    /// Connect and response timeout of each command. Defaults to 1 s.
    pub command_timeout: Duration,
    /// How long one `XREAD` blocks waiting for new entries. Defaults to 1 s
    /// (and so the staleness of an idle instance is at most about that).
    pub block: Duration,
    /// Entries read per `XREAD`. Defaults to 10,000.
    pub batch: usize,
    /// After a read that brought entries, wait this long before the next
    /// one, so a busy log is read in batches rather than one wake-up per
    /// entry (at 1,000 writes a second, a fifth of the reads). It adds at
    /// most this much to the time a revocation takes to reach an instance.
    /// Defaults to 5 ms.
    pub coalesce: Duration,
    /// Log entries kept (`XADD MAXLEN ~`): an instance that falls further
    /// behind reloads a snapshot. Defaults to 1,000,000 (a day of 10
    /// revocations a second, with room; about 20-40 MB in Redis).
    pub log_max_len: u64,
    /// Replica confirmation of writes. Defaults to
    /// [`ReplicaAcks::Auto`] with a 1 s timeout.
    pub replica_acks: ReplicaAcks,
    /// Every this many writes compact one snapshot bucket of each kind
    /// (expired and superseded records dropped); a full round is this times
    /// [`BUCKETS`] writes. Defaults to 64.
    pub compact_every: u32,
}

impl RedisStoreConfig {
    /// The defaults, for `url`.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            key_prefix: "reauth".into(),
            max_staleness: Duration::from_secs(5),
            when_unreachable: WhenUnreachable::FailClosed,
            catch_up_wait: Duration::from_secs(1),
            command_timeout: Duration::from_secs(1),
            block: Duration::from_secs(1),
            batch: 10_000,
            coalesce: Duration::from_millis(5),
            log_max_len: 1_000_000,
            replica_acks: ReplicaAcks::Auto {
                timeout: Duration::from_secs(1),
            },
            compact_every: 64,
        }
    }

    /// A write's response timeout: the command timeout, plus the time a
    /// `WAIT` for replicas may take.
    pub(crate) fn write_timeout(&self) -> Duration {
        let wait = match self.replica_acks {
            ReplicaAcks::Auto { timeout } | ReplicaAcks::Wait { timeout, .. } => timeout,
            ReplicaAcks::None => Duration::ZERO,
        };
        self.command_timeout.saturating_add(wait)
    }

    pub(crate) fn validate(&self) -> Result<(), StoreError> {
        let bad = |what: &str| Err(err(format!("invalid RedisStoreConfig: {what}")));
        if self.key_prefix.is_empty() || self.key_prefix.contains(['{', '}']) {
            return bad("key_prefix must be non-empty and without braces");
        }
        if self.batch == 0 || self.log_max_len == 0 || self.compact_every == 0 {
            return bad("batch, log_max_len and compact_every must be greater than zero");
        }
        let hour = Duration::from_secs(3600);
        for (name, d) in [
            ("max_staleness", self.max_staleness),
            ("command_timeout", self.command_timeout),
            ("block", self.block),
        ] {
            if d.is_zero() || d > hour {
                return bad(&format!("{name} must be between 1 ms and 1 h"));
            }
        }
        if self.coalesce > Duration::from_secs(1) {
            return bad("coalesce must be at most 1 s");
        }
        if self.catch_up_wait > Duration::from_secs(60) {
            return bad("catch_up_wait must be at most 60 s");
        }
        Ok(())
    }
}

/// The names of our keys, all under the `{prefix}` hash tag.
#[derive(Debug, Clone)]
pub(crate) struct Keys {
    prefix: String,
    users: String,
    users_exp: String,
    sessions: String,
    log: String,
    seq: String,
    retention: String,
    issuers: String,
    sweep: String,
    /// `{p}:b:`; bucket n of kind k (`u`|`s`) is `{p}:b:{k}:{n}`.
    bucket_prefix: String,
}

impl Keys {
    fn new(prefix: &str) -> Self {
        let k = |name: &str| format!("{{{prefix}}}:{name}");
        Self {
            prefix: prefix.to_owned(),
            users: k("users"),
            users_exp: k("users:exp"),
            sessions: k("sessions"),
            log: k("log"),
            seq: k("seq"),
            retention: k("retention"),
            issuers: k("issuers"),
            sweep: k("sweep"),
            bucket_prefix: k("b:"),
        }
    }

    fn jti(&self, scoped: &str) -> String {
        format!("{{{}}}:jti:{scoped}", self.prefix)
    }
}

pub(crate) fn err(e: impl std::fmt::Display) -> StoreError {
    StoreError(format!("redis: {e}"))
}

/// The real time: the mirror follows Redis, whose expiries are real time.
fn unix_now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// A [`RevocationStore`] shared through Redis, answering from a local mirror.
pub struct RedisStore {
    shared: Arc<Shared>,
}

struct Shared {
    config: RedisStoreConfig,
    writer: RedisWriter,
    mirror: Mirror,
    /// Milliseconds since `epoch` at which the mirror was last confirmed
    /// up to date against Redis.
    confirmed_ms: AtomicU64,
    epoch: Instant,
    /// Entries applied from the log (metrics, tests).
    applied: AtomicU64,
    /// Snapshots loaded (metrics, tests).
    reloads: AtomicU64,
    /// Log entries and snapshot records passed over as unreadable.
    skipped: AtomicU64,
    /// Woken on every confirmation (checks waiting for a catch-up).
    confirmed: Notify,
    /// The log reader failed to reach Redis twice or more in a row: a
    /// check does not wait for it ([`RedisStoreConfig::catch_up_wait`]).
    failing: AtomicBool,
}

impl Shared {
    fn confirm(&self, at: Instant) {
        let ms = u64::try_from(at.saturating_duration_since(self.epoch).as_millis()).unwrap_or(0);
        self.confirmed_ms.fetch_max(ms, Ordering::SeqCst);
        self.confirmed.notify_waiters();
    }

    fn age(&self) -> Duration {
        let confirmed =
            self.epoch + Duration::from_millis(self.confirmed_ms.load(Ordering::SeqCst));
        confirmed.elapsed()
    }
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisStore")
            .field("prefix", &self.shared.config.key_prefix)
            .field("mirror", &self.shared.mirror)
            .finish_non_exhaustive()
    }
}

impl RedisStore {
    /// Connects, loads the snapshot (up to three tries), and starts
    /// following the log. Fails if Redis cannot be reached now.
    pub async fn connect(config: RedisStoreConfig) -> Result<Arc<Self>, StoreError> {
        config.validate()?;
        let target = Target::parse(&config.url)?;
        let conn = target.connect(config.write_timeout()).await?;
        let writer = RedisWriter::with_conn(conn, &config).await?;
        let shared = Arc::new(Shared {
            config,
            writer,
            mirror: Mirror::new(),
            confirmed_ms: AtomicU64::new(0),
            epoch: Instant::now(),
            applied: AtomicU64::new(0),
            reloads: AtomicU64::new(0),
            skipped: AtomicU64::new(0),
            confirmed: Notify::new(),
            failing: AtomicBool::new(false),
        });
        // A slow first answer (a loaded host, Redis still starting) is not yet
        // an outage: three tries, each bounded by the command timeout.
        let mut attempt = 1;
        let position = loop {
            match reload(&shared, Load::Replace).await {
                Ok(p) => break p,
                Err(e) if attempt == 3 => return Err(e),
                Err(e) => {
                    tracing::warn!(error = %e, attempt, "reauth: first Redis snapshot failed; retrying");
                    attempt += 1;
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            }
        };
        tokio::spawn(follow(Arc::downgrade(&shared), target, position));
        Ok(Arc::new(Self { shared }))
    }

    /// The write half (bulk revocations).
    pub fn writer(&self) -> &RedisWriter {
        &self.shared.writer
    }

    /// Entries held in the mirror: (user cut-offs, revoked sessions).
    pub fn mirror_len(&self) -> (usize, usize) {
        self.shared.mirror.len()
    }

    /// How long ago the mirror was last confirmed up to date.
    pub fn staleness(&self) -> Duration {
        self.shared.age()
    }

    /// Log entries applied and snapshots loaded since start.
    pub fn sync_counts(&self) -> (u64, u64) {
        (
            self.shared.applied.load(Ordering::SeqCst),
            self.shared.reloads.load(Ordering::SeqCst),
        )
    }

    /// Log entries and snapshot records skipped as unreadable since start
    /// (each is logged; a writer that breaks the id rule shows here).
    pub fn skipped(&self) -> u64 {
        self.shared.skipped.load(Ordering::SeqCst)
    }

    /// Staleness beyond which checks fail closed.
    fn allowed_staleness(&self) -> Duration {
        let c = &self.shared.config;
        match c.when_unreachable {
            WhenUnreachable::FailClosed => c.max_staleness,
            WhenUnreachable::UseLastKnown(extra) => c.max_staleness.saturating_add(extra),
        }
    }

    fn stale(&self) -> Option<Duration> {
        let age = self.shared.age();
        (age > self.allowed_staleness()).then_some(age)
    }

    /// Waits up to `catch_up_wait` for a confirmation that makes the mirror
    /// current; at once `false` when the log reader is failing.
    async fn wait_current(&self) -> bool {
        let shared = &self.shared;
        let deadline = tokio::time::Instant::now() + shared.config.catch_up_wait;
        loop {
            // Registered before the look, so a confirmation between the
            // look and the wait is not missed.
            let notified = shared.confirmed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.stale().is_none() {
                return true;
            }
            if shared.failing.load(Ordering::SeqCst)
                || tokio::time::timeout_at(deadline, notified).await.is_err()
            {
                return self.stale().is_none();
            }
        }
    }
}

/// Loads a snapshot into the mirror; returns the position to follow from.
async fn reload(shared: &Shared, into: Load) -> Result<snapshot::Position, StoreError> {
    let started = Instant::now();
    let mut conn = shared.writer.conn.clone();
    let (at, skipped) = snapshot::load(
        &mut conn,
        &shared.writer.keys,
        &shared.mirror,
        unix_now(),
        into,
    )
    .await?;
    shared.skipped.fetch_add(skipped, Ordering::SeqCst);
    shared.reloads.fetch_add(1, Ordering::SeqCst);
    shared.confirm(started);
    Ok(at)
}

/// Applies one entry; an unreadable one is counted and logged, never applied.
fn apply(shared: &Shared, entry: &log::Entry) {
    match entry {
        log::Entry::Event(e) => {
            let id = shared.mirror.stored_id(&e.key);
            if e.user {
                shared.mirror.apply_user(id, e.cutoff, e.keep);
            } else {
                shared.mirror.apply_session(id, e.keep);
            }
        }
        log::Entry::Skipped { id, n, why } => {
            shared.skipped.fetch_add(1, Ordering::SeqCst);
            tracing::warn!(
                entry = %id,
                n = ?n,
                error = %why,
                "reauth: unreadable revocation log entry skipped (a writer broke the id rule?)"
            );
        }
    }
}

/// Follows the log for as long as the store lives: a blocking `XREAD` from
/// the last applied entry, a snapshot on a gap, a reconnect on an error.
async fn follow(store: Weak<Shared>, target: Target, mut at: snapshot::Position) {
    let mut conn: Option<Conn> = None;
    let mut last_purge = Instant::now();
    // After a full batch, more may be waiting: the next read does not block,
    // so an instance that has caught up knows it at once.
    let mut behind = false;
    // Failures in a row: the first reconnect is immediate, then backs off.
    let mut failures = 0u32;
    loop {
        let Some(shared) = store.upgrade() else {
            return;
        };
        let c = &shared.config;
        let (block, batch, coalesce, max_staleness) =
            (c.block, c.batch, c.coalesce, c.max_staleness);
        let read_timeout = block.saturating_add(c.command_timeout);
        if conn.is_none() {
            let t = Instant::now();
            match target.connect_blocking(read_timeout).await {
                Ok(mut fresh) => {
                    tracing::debug!(
                        ms = t.elapsed().as_millis() as u64,
                        "reauth: revocation log connection open"
                    );
                    // After a disconnect: was the store reset meanwhile?
                    match snapshot::position(&mut fresh, &shared.writer.keys).await {
                        // Reset: what the mirror holds may be gone, so new
                        // tables replace it.
                        Ok(remote) if remote.n < at.n => {
                            match reload(&shared, Load::Replace).await {
                                Ok(p) => at = p,
                                Err(e) => {
                                    tracing::warn!(error = %e, "reauth: revocation snapshot failed")
                                }
                            }
                        }
                        Ok(_) => {}
                        Err(e) => {
                            tracing::warn!(error = %e, "reauth: revocation log position unknown")
                        }
                    }
                    conn = Some(fresh);
                    shared.failing.store(false, Ordering::SeqCst);
                    // The first read after a reconnect does not block: a
                    // reader with nothing to catch up confirms at once, and
                    // the checks waiting for it are answered.
                    behind = true;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "reauth: cannot reach Redis to follow revocations");
                    failures += 1;
                    shared.failing.store(failures >= 2, Ordering::SeqCst);
                    drop(shared);
                    tokio::time::sleep(backoff(failures)).await;
                    continue;
                }
            }
        }
        if last_purge.elapsed() > Duration::from_secs(60) {
            shared.mirror.purge(unix_now());
            last_purge = Instant::now();
        }
        let keys = shared.writer.keys.clone();
        drop(shared);
        let Some(active) = conn.as_mut() else {
            continue;
        };
        let sent = Instant::now();
        let mut xread = redis::cmd("XREAD");
        xread.arg("COUNT").arg(batch);
        if !behind {
            xread
                .arg("BLOCK")
                .arg(u64::try_from(block.as_millis()).unwrap_or(u64::MAX));
        }
        let reply: Result<redis::Value, _> = xread
            .arg("STREAMS")
            .arg(&keys.log)
            .arg(&at.id)
            .query_async(active)
            .await;
        let Some(shared) = store.upgrade() else {
            return;
        };
        let events = match reply
            .map_err(err)
            .and_then(|r| log::parse_xread(&r).map_err(err))
        {
            Ok(events) => events,
            Err(e) => {
                tracing::warn!(error = %e, "reauth: following the revocation log failed; reconnecting");
                conn = None;
                failures += 1;
                shared.failing.store(failures >= 2, Ordering::SeqCst);
                drop(shared);
                tokio::time::sleep(backoff(failures)).await;
                continue;
            }
        };
        failures = 0;
        shared.failing.store(false, Ordering::SeqCst);
        behind = events.len() >= batch;
        let (take, gap) = match log::in_sequence(at.n, &events) {
            Next::Apply(k) => (k, false),
            Next::ApplyThenReload(k) => (k, true),
        };
        if !events.is_empty() {
            tracing::debug!(
                entries = events.len(),
                read_ms = sent.elapsed().as_millis() as u64,
                "reauth: revocation log entries read"
            );
        }
        for e in &events[..take] {
            apply(&shared, e);
            at = snapshot::Position {
                // In sequence, so every entry taken has its number.
                n: e.n().unwrap_or(at.n.saturating_add(1)),
                id: e.id().to_owned(),
            };
        }
        shared.applied.fetch_add(take as u64, Ordering::SeqCst);
        if gap {
            tracing::warn!(
                after = at.n,
                "reauth: revocation log has a gap (trimmed or reset); loading a snapshot"
            );
            match reload(&shared, Load::Merge).await {
                Ok(p) => at = p,
                Err(e) => {
                    tracing::warn!(error = %e, "reauth: revocation snapshot failed");
                    conn = None;
                }
            }
            behind = false;
        } else if !behind {
            // Everything up to when this read was sent is applied.
            shared.confirm(sent);
            // A read that returned late (the process was paused, Redis
            // was slow): its confirmation may leave the mirror stale, with
            // checks waiting; the next read does not block and confirms now.
            if sent.elapsed() > max_staleness.min(read_timeout) {
                behind = true;
            } else if !events.is_empty() && !coalesce.is_zero() {
                drop(shared);
                tokio::time::sleep(coalesce).await;
            }
        }
    }
}

/// The wait before reconnect attempt `failures` (1-based): none for the
/// first (a dropped connection is usually back at once), then 50 ms
/// doubling to 1 s.
fn backoff(failures: u32) -> Duration {
    match failures {
        0 | 1 => Duration::ZERO,
        n => Duration::from_millis(50u64 << (n - 2).min(5)).min(Duration::from_secs(1)),
    }
}

impl RevocationStore for RedisStore {
    fn until_current(&self) -> BoxFuture<'_, bool> {
        Box::pin(async move {
            if self.shared.config.catch_up_wait.is_zero() {
                return false;
            }
            self.wait_current().await
        })
    }

    fn sync(&self) -> Option<crate::revocation::sync::RevocationSync> {
        let (applied, snapshots) = self.sync_counts();
        Some(
            crate::revocation::sync::RevocationSync::new(
                self.staleness(),
                self.allowed_staleness(),
                applied,
                snapshots,
            )
            .with_skipped(self.skipped()),
        )
    }

    fn check(
        &self,
        ns: &Namespace,
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
        Ok(self.shared.mirror.lookup(ns, sub, sid, login_time, now))
    }

    fn revoke_user<'a>(
        &'a self,
        ns: &'a Namespace,
        sub: &'a str,
        cutoff: i64,
        keep_until: i64,
        now: i64,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            let keep = self
                .shared
                .writer
                .write(Kind::User, ns, &[sub], cutoff, keep_until, now)
                .await?;
            // This instance enforces it at once; the log brings it again.
            let m = &self.shared.mirror;
            m.apply_user(m.id(ns.tag(), sub), cutoff, keep);
            Ok(())
        })
    }

    fn revoke_session<'a>(
        &'a self,
        ns: &'a Namespace,
        sid: &'a str,
        keep_until: i64,
        now: i64,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            let keep = self
                .shared
                .writer
                .write(Kind::Session, ns, &[sid], 0, keep_until, now)
                .await?;
            let m = &self.shared.mirror;
            m.apply_session(m.id(ns.tag(), sid), keep);
            Ok(())
        })
    }

    fn record_jti<'a>(
        &'a self,
        ns: &'a Namespace,
        jti: &'a str,
        now: i64,
        keep_until: i64,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(async move {
            self.shared
                .writer
                .record_jti(ns, jti, keep_until.max(now + 1))
                .await
        })
    }

    fn register_issuer<'a>(&'a self, ns: &'a Namespace) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            self.shared
                .writer
                .register_issuer(ns.issuer(), unix_now())
                .await
        })
    }

    fn require_retention(&self, keep: Duration) -> BoxFuture<'_, Result<(), StoreError>> {
        Box::pin(async move { self.shared.writer.require_retention(keep).await })
    }
}
