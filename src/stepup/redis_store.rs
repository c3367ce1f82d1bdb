//! A [`PendingStore`] in Redis (features `stepup` and `redis`): pending
//! step-ups shared by every instance, each taken exactly once (`GETDEL`,
//! Redis 6.2+), expiring on their own (`SET ... EX ... NX`). One Redis or a
//! Redis Cluster, through the same connection as the revocation store.

use std::time::Duration;

use redis::AsyncCommands;

use super::StepUpError;
use super::pending::{PendingStepUp, PendingStore, StoreFuture};
use crate::revocation::redis::conn::{Conn, Target};

/// Pending step-ups in Redis, under `<prefix>:<state>` (no hash tag: the
/// keys spread over a cluster's slots). The value holds the PKCE verifier
/// and the nonce: give the prefix an ACL of its own on a shared Redis.
#[derive(Clone)]
pub struct RedisPendingStore {
    conn: Conn,
    prefix: String,
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
        })
    }

    fn key(&self, state: &str) -> String {
        format!("{}:{state}", self.prefix)
    }
}

impl PendingStore for RedisPendingStore {
    fn put(&self, pending: PendingStepUp, lifetime: Duration) -> StoreFuture<'_, ()> {
        let mut conn = self.conn.clone();
        let key = self.key(pending.state());
        Box::pin(async move {
            let value = serde_json::to_string(&pending).map_err(store_error)?;
            let secs = lifetime.as_secs().max(1);
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

    fn take<'a>(&'a self, state: &'a str) -> StoreFuture<'a, Option<PendingStepUp>> {
        let mut conn = self.conn.clone();
        let key = self.key(state);
        Box::pin(async move {
            let value: Option<String> = conn.get_del(&key).await.map_err(store_error)?;
            value
                .map(|v| {
                    serde_json::from_str(&v)
                        .map_err(|_| store_error(format!("{key} does not hold a pending step-up")))
                })
                .transpose()
        })
    }
}
