//! The [`RedisStore`]: a local mirror kept in sync by following the log,
//! answering every check without a network call.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::Notify;

use crate::error::StoreError;
use crate::revocation::mirror::Mirror;
use crate::revocation::namespace::Namespace;
use crate::revocation::redis::config::{RedisStoreConfig, WhenUnreachable};
use crate::revocation::redis::conn::Target;
use crate::revocation::redis::follow::follow;
use crate::revocation::redis::shared::{Shared, reload, unix_now};
use crate::revocation::redis::snapshot::Load;
use crate::revocation::redis::writer::{Kind, RedisWriter};
use crate::revocation::store::{BoxFuture, RevocationStore, Revoked};

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

    fn lease<'a>(
        &'a self,
        name: &'a str,
        holder: &'a str,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(async move { self.shared.writer.lease(name, holder, ttl).await })
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
