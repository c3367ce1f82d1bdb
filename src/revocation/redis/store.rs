//! The [`RedisStore`]: a local mirror kept in sync by following the log,
//! answering every check without a network call.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use tokio::sync::Notify;

use crate::error::StoreError;
use crate::revocation::mirror::Mirror;
use crate::revocation::namespace::Namespace;
use crate::revocation::redis::config::{RedisStoreConfig, WhenUnreachable};
use crate::revocation::redis::conn::{Conn, Target};
use crate::revocation::redis::keys::err;
use crate::revocation::redis::log::{self, Next};
use crate::revocation::redis::snapshot::{self, Load};
use crate::revocation::redis::writer::Kind;
use crate::revocation::redis::writer::RedisWriter;
use crate::revocation::store::{BoxFuture, RevocationStore, Revoked};

/// The real time: the mirror follows Redis, whose expiries are real time.
fn unix_now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// A [`RevocationStore`] shared through Redis, answering from a local mirror.
///
/// Every instance connects its own store: a revocation written by one
/// (a back-channel logout, [`Verifier::revoke_user`](crate::Verifier::revoke_user),
/// `reauth revoke`) reaches the others through the Redis log, and checks
/// read only the local mirror. Settings and their defaults:
/// [`RedisStoreConfig`]; the README's "Revocation" section explains the
/// log and the snapshot.
///
/// ```no_run
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use reauth::revocation::{RedisStore, RedisStoreConfig};
/// use reauth::{Verifier, VerifierConfig};
///
/// // Fails now if Redis cannot be reached (no silent fallback to memory).
/// let store = RedisStore::connect(RedisStoreConfig::new("redis://127.0.0.1:6379")).await?;
/// let verifier = Verifier::discover(
///     VerifierConfig::builder("https://myapp.authgear.cloud")
///         .audience("my-client-id")
///         .revocation_store(store.clone())
///         .build()?,
/// )
/// .await?;
///
/// // "Log out all devices": every instance refuses this user's earlier logins.
/// verifier.revoke_user("user-1", None).await?;
/// let (applied, reloads) = store.sync_counts();
/// println!("mirror: {applied} entries applied, {reloads} reloads");
/// # Ok(())
/// # }
/// ```
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
            // A number at or below the last applied one: the sequence went
            // back, the store was reset, and what the mirror holds may be
            // gone (new tables). A higher one (entries trimmed away) or none
            // (an unreadable entry): the snapshot holds all the mirror
            // holds, so it is merged in.
            let reset = events
                .get(take)
                .and_then(log::Entry::n)
                .is_some_and(|n| n <= at.n);
            tracing::warn!(
                after = at.n,
                reset,
                "reauth: revocation log has a gap (trimmed or reset); loading a snapshot"
            );
            let into = if reset { Load::Replace } else { Load::Merge };
            match reload(&shared, into).await {
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
