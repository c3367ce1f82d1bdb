//! What a revocation store is: the trait every store implements, and the
//! one rule all of them apply to what they hold.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use crate::error::StoreError;
use crate::revocation::namespace::Namespace;
use crate::revocation::sync::RevocationSync;

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

/// The revocation rule every store applies to what it holds for a token:
/// its session's entry (kept until), then its user's cut-off (cut-off,
/// kept until). "Log out all devices" at T revokes every login at or before
/// T (same-second logins included: fail closed).
pub(crate) fn rule(
    session_keep: Option<i64>,
    user: Option<(i64, i64)>,
    login_time: i64,
    now: i64,
) -> Option<Revoked> {
    if session_keep.is_some_and(|keep| keep > now) {
        return Some(Revoked::Session);
    }
    match user {
        Some((cutoff, keep)) if keep > now && login_time <= cutoff => {
            Some(Revoked::User { cutoff })
        }
        _ => None,
    }
}

/// Where revocations live. Implementations must make [`check`](Self::check)
/// cheap and local: it runs on every verification. Every id is scoped by
/// its issuer; `now` is always the verifier's clock (Unix seconds), never a
/// cut-off, so a write about one id can never drop another id's entry.
pub trait RevocationStore: Send + Sync + fmt::Debug + 'static {
    /// Is a token of the issuer's `sub` (session `sid`), logged in at
    /// `login_time`, revoked at `now`? Errors when the store cannot vouch
    /// for its answer.
    fn check(
        &self,
        ns: &Namespace,
        sub: &str,
        sid: Option<&str>,
        login_time: i64,
        now: i64,
    ) -> Result<Option<Revoked>, StoreError>;

    /// Called by a verifier when [`check`](Self::check) failed: waits,
    /// bounded by the store's own setting, for a local copy that is catching
    /// up (a process that was paused, a reconnect) to be confirmed current
    /// again. `true` when it is (the verifier then checks once more);
    /// `false` when it is not within the bound, or when waiting cannot help
    /// (the verifier then answers `revocation_unavailable`: fail closed).
    /// The default answers `false` at once (a store that is not a copy has
    /// nothing to catch up on).
    fn until_current(&self) -> BoxFuture<'_, bool> {
        Box::pin(async { false })
    }

    /// Revokes every token of the issuer's `sub` logged in at or before
    /// `cutoff`; the entry may be forgotten after `keep_until`. A lower
    /// cut-off never replaces a higher one.
    fn revoke_user<'a>(
        &'a self,
        ns: &'a Namespace,
        sub: &'a str,
        cutoff: i64,
        keep_until: i64,
        now: i64,
    ) -> BoxFuture<'a, Result<(), StoreError>>;

    /// Revokes every token of the issuer carrying `sid`, until `keep_until`.
    fn revoke_session<'a>(
        &'a self,
        ns: &'a Namespace,
        sid: &'a str,
        keep_until: i64,
        now: i64,
    ) -> BoxFuture<'a, Result<(), StoreError>>;

    /// Records a logout token's `jti` until `keep_until`; `Ok(false)` when it
    /// was already recorded and is still kept at `now` (a replay).
    fn record_jti<'a>(
        &'a self,
        ns: &'a Namespace,
        jti: &'a str,
        now: i64,
        keep_until: i64,
    ) -> BoxFuture<'a, Result<bool, StoreError>>;

    /// Tells the store that a verifier needs entries kept at least `keep`
    /// past their cut-off (its `max_session_age`, or retention, plus the
    /// leeway). A shared store must make every writer honour the longest
    /// such period, whoever writes (e.g. `reauth revoke` with a shorter
    /// `--retention`). Called by [`Verifier::discover`](crate::Verifier::discover).
    /// The default does nothing (a private store's writer is the verifier).
    fn require_retention(&self, keep: Duration) -> BoxFuture<'_, Result<(), StoreError>> {
        let _ = keep;
        Box::pin(async { Ok(()) })
    }

    /// Tells the store that a verifier of `ns`'s issuer uses it (called by
    /// [`Verifier::discover`](crate::Verifier::discover), so for each
    /// discovered tenant too). A shared store records it, so a writer such
    /// as `reauth revoke` can refuse an issuer no verifier serves (a
    /// trailing slash, `localhost` for `127.0.0.1`) instead of writing an
    /// entry nobody enforces. The default does nothing.
    fn register_issuer<'a>(&'a self, ns: &'a Namespace) -> BoxFuture<'a, Result<(), StoreError>> {
        let _ = ns;
        Box::pin(async { Ok(()) })
    }

    /// Takes or renews the lease `name` for `holder` for `ttl`: `Ok(true)`
    /// while `holder` holds it. Instances sharing a store use it so only one
    /// of them does a job at a time (the Shared Signals poller: one
    /// instance polls and acknowledges each SET). The default, for a store
    /// private to one process, always grants it.
    fn lease<'a>(
        &'a self,
        name: &'a str,
        holder: &'a str,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        let _ = (name, holder, ttl);
        Box::pin(async { Ok(true) })
    }

    /// How current the local copy of a shared store is (metrics,
    /// readiness). `None` (the default) for a store that is not a copy.
    fn sync(&self) -> Option<RevocationSync> {
        None
    }
}
