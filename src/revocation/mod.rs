//! Revocation: per-user cut-offs ("log out all devices"), per-session
//! revocation, and the replay record of back-channel logout tokens, behind a
//! [`RevocationStore`] shared by every instance of an app.
//!
//! The check on the request path is synchronous and local: a store answers
//! from memory ([`MemoryStore`]) or from a local mirror it keeps in sync
//! (`RedisStore`, feature `redis`), so the
//! common case makes no network call. Writes go to the shared state.

mod memory;
#[cfg(feature = "redis")]
mod redis;

use std::fmt;
use std::future::Future;
use std::pin::Pin;

pub use memory::MemoryStore;
#[cfg(feature = "redis")]
pub use redis::{RedisStore, RedisStoreConfig, WhenUnreachable};

/// A boxed future, so stores can be used as `Arc<dyn RevocationStore>`.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Why a token is revoked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Revoked {
    /// The user's tokens authenticated at or before this cut-off (Unix seconds) are revoked.
    User {
        /// The cut-off.
        cutoff: i64,
    },
    /// The token's session (`sid`) is revoked.
    Session,
}

/// The shared revocation state could not be consulted (or written).
/// Verification answers `revocation_unavailable` (503): fail closed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("revocation store unavailable: {0}")]
pub struct StoreError(pub String);

/// Where revocations live. Implementations must make [`check`](Self::check)
/// cheap and local: it runs on every verification.
pub trait RevocationStore: Send + Sync + fmt::Debug + 'static {
    /// Is a token of `sub` (session `sid`), authenticated at `auth_time`,
    /// revoked at `now`? Errors when the store cannot vouch for its answer.
    fn check(
        &self,
        sub: &str,
        sid: Option<&str>,
        auth_time: i64,
        now: i64,
    ) -> Result<Option<Revoked>, StoreError>;

    /// Revokes every token of `sub` authenticated at or before `cutoff`; the
    /// entry may be forgotten after `keep_until`. A lower cut-off never
    /// replaces a higher one.
    fn revoke_user<'a>(
        &'a self,
        sub: &'a str,
        cutoff: i64,
        keep_until: i64,
    ) -> BoxFuture<'a, Result<(), StoreError>>;

    /// Revokes every token carrying `sid`, until `keep_until`.
    fn revoke_session<'a>(
        &'a self,
        sid: &'a str,
        keep_until: i64,
    ) -> BoxFuture<'a, Result<(), StoreError>>;

    /// Records a logout token's `jti` until `keep_until`; `Ok(false)` when it
    /// was already recorded and is still kept at `now` (a replay).
    fn record_jti<'a>(
        &'a self,
        jti: &'a str,
        now: i64,
        keep_until: i64,
    ) -> BoxFuture<'a, Result<bool, StoreError>>;
}
