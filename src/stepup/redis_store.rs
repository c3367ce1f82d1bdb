//! A [`PendingStore`] in Redis (features `stepup` and `redis`): pending
//! step-ups shared by every instance, each taken exactly once (`GETDEL`,
//! Redis 6.2+), expiring on their own (`SET ... EX ... NX`), at most
//! [`max_pending`](RedisPendingStore::max_pending) begun per lifetime. One
//! Redis or a Redis Cluster, through the same connection as the revocation
//! store.

use std::time::Duration;

use redis::AsyncCommands;

use super::error::StepUpError;
use super::pending::{PendingStepUp, PendingStore, StoreFuture};
use crate::revocation::redis::conn::{Conn, Target};

/// How many step-ups a [`RedisPendingStore`] lets begin per pending
/// lifetime window, by default.
pub const DEFAULT_MAX_REDIS_PENDING: usize = 20_000;

/// Pending step-ups in Redis, under `<prefix>:<state>` (no hash tag: the
/// keys spread over a cluster's slots). The value holds the PKCE verifier
/// and the nonce: give the prefix an ACL of its own on a shared Redis.
///
/// Each entry expires after the pending lifetime (10 minutes by default).
/// Since anonymous browser requests to protected routes begin step-ups, the
/// number begun is capped too: at most
/// [`max_pending`](Self::max_pending) per lifetime window (counted in
/// `<prefix>:begun:<lifetime>:<window>`), so at most twice that are held at
/// once (a few tens of MiB with the default). Beyond it a new step-up is
/// refused with 503 `too_many_pending_step_ups` and a log line: a flood
/// must not fill a Redis that may also hold the revocation log (a Redis at
/// `maxmemory` refuses revocations too).
#[derive(Clone)]
pub struct RedisPendingStore {
    conn: Conn,
    prefix: String,
    max_pending: usize,
}

impl std::fmt::Debug for RedisPendingStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisPendingStore")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

fn store_error(e: impl std::fmt::Display) -> StepUpError {
    StepUpError::Store(e.to_string())
}

impl RedisPendingStore {
    /// Connects to `url` (`redis://...`, or `redis+cluster://h1:p1,h2:p2`)
    /// with `timeout` on connecting and on every command. Keys are
    /// `<prefix>:<state>`; a typical prefix is `reauth-stepup`.
    pub async fn connect(url: &str, prefix: &str, timeout: Duration) -> Result<Self, StepUpError> {
        if prefix.is_empty() || prefix.contains(['{', '}', ' ']) {
            return Err(store_error(
                "the key prefix must be non-empty, without braces or spaces",
            ));
        }
        let conn = Target::parse(url)
            .map_err(store_error)?
            .connect(timeout)
            .await
            .map_err(store_error)?;
        Ok(Self {
            conn,
            prefix: prefix.to_owned(),
            max_pending: DEFAULT_MAX_REDIS_PENDING,
        })
    }

    /// At most `n` step-ups begun per pending lifetime window, across every
    /// instance (at least 1). Defaults to [`DEFAULT_MAX_REDIS_PENDING`]
    /// (20,000).
    #[must_use]
    pub fn max_pending(mut self, n: usize) -> Self {
        self.max_pending = n.max(1);
        self
    }

    fn key(&self, state: &str) -> String {
        format!("{}:{state}", self.prefix)
    }
}

impl PendingStore for RedisPendingStore {
    fn put(&self, pending: PendingStepUp, lifetime: Duration) -> StoreFuture<'_, ()> {
        let mut conn = self.conn.clone();
        let key = self.key(pending.state());
        let limit = self.max_pending;
        let secs = lifetime.as_secs().max(1);
        // A fixed window as long as the lifetime, by the verifier's clock
        // (the one `began_at` is read from): entries of this window and the
        // one before may be alive at once.
        let window = pending
            .began_at
            .div_euclid(i64::try_from(secs).unwrap_or(i64::MAX));
        let counter = format!("{}:begun:{secs}:{window}", self.prefix);
        Box::pin(async move {
            let value = serde_json::to_string(&pending).map_err(store_error)?;
            let (begun,): (u64,) = redis::pipe()
                .incr(&counter, 1)
                .expire(&counter, i64::try_from(2 * secs).unwrap_or(i64::MAX))
                .ignore()
                .query_async(&mut conn)
                .await
                .map_err(store_error)?;
            if begun > limit as u64 {
                tracing::warn!(
                    limit,
                    "reauth: the Redis pending step-up store refused a new step-up: {limit} \
                     already began in this window; raise RedisPendingStore::max_pending, or \
                     look for a flood of anonymous requests to protected routes"
                );
                return Err(StepUpError::TooManyPending { limit });
            }
            let set: Option<String> = redis::cmd("SET")
                .arg(&key)
                .arg(value)
                .arg("EX")
                .arg(secs)
                .arg("NX")
                .query_async(&mut conn)
                .await
                .map_err(store_error)?;
            // NX: a state is 256 random bits; a clash means something is wrong.
            set.map(|_| ())
                .ok_or_else(|| store_error("a pending step-up with this state exists"))
        })
    }

    fn get<'a>(&'a self, state: &'a str) -> StoreFuture<'a, Option<PendingStepUp>> {
        let mut conn = self.conn.clone();
        let key = self.key(state);
        Box::pin(async move {
            let value: Option<String> = conn.get(&key).await.map_err(store_error)?;
            parse(&key, value)
        })
    }

    fn take<'a>(&'a self, state: &'a str) -> StoreFuture<'a, Option<PendingStepUp>> {
        let mut conn = self.conn.clone();
        let key = self.key(state);
        Box::pin(async move {
            let value: Option<String> = conn.get_del(&key).await.map_err(store_error)?;
            parse(&key, value)
        })
    }
}

fn parse(key: &str, value: Option<String>) -> Result<Option<PendingStepUp>, StepUpError> {
    value
        .map(|v| {
            serde_json::from_str(&v)
                .map_err(|_| store_error(format!("{key} does not hold a pending step-up")))
        })
        .transpose()
}
