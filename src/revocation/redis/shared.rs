//! The state a [`RedisStore`](super::RedisStore), its checks and its log
//! follower share, and the two ways it changes: a snapshot loaded, an
//! entry applied.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::Notify;

use crate::error::StoreError;
use crate::revocation::mirror::Mirror;
use crate::revocation::redis::config::RedisStoreConfig;
use crate::revocation::redis::log;
use crate::revocation::redis::snapshot::{self, Load};
use crate::revocation::redis::writer::RedisWriter;

/// The real time: the mirror follows Redis, whose expiries are real time.
pub(crate) fn unix_now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// What the store, its checks and its log follower share.
pub(crate) struct Shared {
    pub(crate) config: RedisStoreConfig,
    pub(crate) writer: RedisWriter,
    pub(crate) mirror: Mirror,
    /// Milliseconds since `epoch` at which the mirror was last confirmed
    /// up to date against Redis.
    pub(crate) confirmed_ms: AtomicU64,
    pub(crate) epoch: Instant,
    /// Entries applied from the log (metrics, tests).
    pub(crate) applied: AtomicU64,
    /// Snapshots loaded (metrics, tests).
    pub(crate) reloads: AtomicU64,
    /// Log entries and snapshot records passed over as unreadable.
    pub(crate) skipped: AtomicU64,
    /// Woken on every confirmation (checks waiting for a catch-up).
    pub(crate) confirmed: Notify,
    /// The log reader failed to reach Redis twice or more in a row: a
    /// check does not wait for it ([`RedisStoreConfig::catch_up_wait`]).
    pub(crate) failing: AtomicBool,
}

impl Shared {
    pub(crate) fn confirm(&self, at: Instant) {
        let ms = u64::try_from(at.saturating_duration_since(self.epoch).as_millis()).unwrap_or(0);
        self.confirmed_ms.fetch_max(ms, Ordering::SeqCst);
        self.confirmed.notify_waiters();
    }

    pub(crate) fn age(&self) -> Duration {
        let confirmed =
            self.epoch + Duration::from_millis(self.confirmed_ms.load(Ordering::SeqCst));
        confirmed.elapsed()
    }
}

/// Loads a snapshot into the mirror; returns the position to follow from.
pub(crate) async fn reload(shared: &Shared, into: Load) -> Result<snapshot::Position, StoreError> {
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
pub(crate) fn apply(shared: &Shared, entry: &log::Entry) {
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
