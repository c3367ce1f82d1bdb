//! What a step-up keeps between `begin` and `finish`, and where: in a
//! cookie sealed with AES-256-GCM (no server-side state), or in a store
//! the app provides (shared by its instances, single use everywhere).

use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;
use std::time::Duration;

use cookie::{Cookie, CookieJar, Key, SameSite};
use serde::{Deserialize, Serialize};

use super::error::StateProblem;
use super::error::StepUpError;
use crate::config::ReauthPolicy;
use crate::verify::requirement::Requirement;

/// The state of one step-up in flight. Holds secrets (the PKCE verifier,
/// the nonce): keep it sealed or server-side, never in a URL or a log.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingStepUp {
    pub(crate) state: String,
    pub(crate) nonce: String,
    pub(crate) pkce_verifier: String,
    /// Unix seconds, by the verifier's clock.
    pub(crate) began_at: i64,
    /// The user stepping up; `None` for a plain sign-in.
    pub(crate) sub: Option<String>,
    pub(crate) return_to: String,
    pub(crate) max_age: Option<u64>,
    pub(crate) acr_values: Vec<String>,
    pub(crate) amr: Vec<String>,
    pub(crate) allow_unavailable: Option<bool>,
    /// Whether the callback must prove a new login (`auth_time` at or
    /// after `began_at`): a step-up, or any route that demands a login.
    pub(crate) prove_login: bool,
    /// With a [`PendingStore`]: SHA-256 (base64url) of the random value
    /// of the browser's binding cookie.
    pub(crate) binding: Option<String>,
}

impl std::fmt::Debug for PendingStepUp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PendingStepUp")
            .field("began_at", &self.began_at)
            .field("sub", &self.sub)
            .field("return_to", &self.return_to)
            .finish_non_exhaustive()
    }
}

impl PendingStepUp {
    /// The `state` sent to the issuer: the key of this pending step-up.
    pub fn state(&self) -> &str {
        &self.state
    }

    /// When the step-up began (Unix seconds).
    pub fn began_at(&self) -> i64 {
        self.began_at
    }

    /// The user stepping up (`None` for a plain sign-in).
    pub fn expected_subject(&self) -> Option<&str> {
        self.sub.as_deref()
    }

    /// Where the browser goes once the step-up is finished.
    pub fn return_to(&self) -> &str {
        &self.return_to
    }

    /// The requirement the new ID token must meet: the route's.
    pub fn requirement(&self) -> Requirement {
        let mut r = Requirement::none()
            .with_max_age(self.max_age.map(Duration::from_secs))
            .acr_values(self.acr_values.clone())
            .require_amr(self.amr.clone());
        if let Some(allow) = self.allow_unavailable {
            r = r.when_cannot_reauthenticate(if allow {
                ReauthPolicy::Allow
            } else {
                ReauthPolicy::Deny
            });
        }
        r
    }
}

/// A boxed future, for object-safe stores.
pub type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, StepUpError>> + Send + 'a>>;

/// Where pending step-ups live when not in a cookie: your database or
/// cache, shared by every instance of the app.
///
/// A callback first [`get`](Self::get)s its pending step-up and checks that
/// the browser presenting it is the one that began it; only then does it
/// [`take`](Self::take) it, so someone who learned a `state` cannot cancel
/// another user's step-up. `take` must be atomic (a `GETDEL`, a `DELETE ...
/// RETURNING`): it is what makes a callback good once across instances.
///
/// Every unauthenticated browser request to a protected route can begin a
/// step-up: a store must bound what it holds (entries expire after
/// `lifetime`; [`MemoryPendingStore`] has a capacity,
/// `RedisPendingStore` a cap per lifetime window) and answer
/// [`StepUpError::TooManyPending`] or drop its oldest entries rather than
/// grow without bound.
pub trait PendingStore: Send + Sync + 'static {
    /// Keeps `pending` under its [`state`](PendingStepUp::state) for at
    /// least `lifetime`.
    fn put(&self, pending: PendingStepUp, lifetime: Duration) -> StoreFuture<'_, ()>;
    /// Returns the pending step-up for `state`, if any, leaving it in place.
    fn get<'a>(&'a self, state: &'a str) -> StoreFuture<'a, Option<PendingStepUp>>;
    /// Removes and returns the pending step-up for `state`, if any
    /// (atomically: of two concurrent calls, one gets it).
    fn take<'a>(&'a self, state: &'a str) -> StoreFuture<'a, Option<PendingStepUp>>;
}

/// How many step-ups a [`MemoryPendingStore::default`] holds.
pub const DEFAULT_MAX_PENDING: usize = 10_000;

/// A [`PendingStore`] in this process's memory, for one instance (and
/// tests). Holds at most `capacity` step-ups (defaults to
/// [`DEFAULT_MAX_PENDING`], 10,000: each is under 2 KiB with a `sub` of
/// ordinary length, since `return_to` is capped at 1 KiB). Expired step-ups are dropped first; when the store
/// is still full, the oldest step-up in flight is dropped (its callback is
/// refused as `invalid_state`, and the user starts again), with a warning
/// in the log at most once a minute.
///
/// Why drop rather than refuse: anonymous requests can begin step-ups, so a
/// flood could fill the store either way; refusing would then stop every
/// sign-in for the whole pending lifetime, while dropping the oldest keeps
/// memory bounded and only costs a retry to a user whose step-up is older
/// than the last `capacity` ones. Neither lets a callback through
/// unchecked. For a cap shared by instances, use a store such as
/// `RedisPendingStore`.
#[derive(Debug)]
pub struct MemoryPendingStore {
    inner: Mutex<MemoryInner>,
    capacity: usize,
}

#[derive(Debug, Default)]
struct MemoryInner {
    /// Each step-up with the moment it expires (Unix seconds, the
    /// verifier's clock, like `began_at`).
    entries: std::collections::HashMap<String, (PendingStepUp, i64)>,
    /// States in the order they were put (some already taken).
    order: std::collections::VecDeque<String>,
    /// When a live step-up was last dropped with a warning.
    warned_at: Option<i64>,
}

impl Default for MemoryPendingStore {
    /// A store for [`DEFAULT_MAX_PENDING`] step-ups.
    fn default() -> Self {
        Self::new(DEFAULT_MAX_PENDING)
    }
}

impl MemoryPendingStore {
    /// A store for at most `capacity` step-ups in flight (at least 1).
    pub fn new(capacity: usize) -> Self {
        Self {
            inner: Mutex::new(MemoryInner::default()),
            capacity: capacity.max(1),
        }
    }

    /// The most step-ups it holds.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// How many step-ups it holds now (expired ones included until the next
    /// `put` drops them).
    pub fn len(&self) -> usize {
        self.lock().entries.len()
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, MemoryInner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl PendingStore for MemoryPendingStore {
    fn put(&self, pending: PendingStepUp, lifetime: Duration) -> StoreFuture<'_, ()> {
        let now = pending.began_at;
        let expires = now.saturating_add(i64::try_from(lifetime.as_secs()).unwrap_or(i64::MAX));
        let mut guard = self.lock();
        let MemoryInner {
            entries,
            order,
            warned_at,
        } = &mut *guard;
        // Taken and expired step-ups at the front go first (the order is
        // the order they began in).
        while let Some(oldest) = order.front() {
            if entries.get(oldest).is_some_and(|(_, until)| *until > now) {
                break;
            }
            entries.remove(oldest);
            order.pop_front();
        }
        // Still full: the oldest step-up in flight goes.
        while entries.len() >= self.capacity {
            let Some(oldest) = order.pop_front() else {
                break;
            };
            if entries.remove(&oldest).is_some()
                && warned_at.is_none_or(|t| now.saturating_sub(t) >= 60)
            {
                *warned_at = Some(now);
                tracing::warn!(
                    capacity = self.capacity,
                    "reauth: the in-memory pending step-up store is full: the oldest step-up in \
                     flight was dropped (its callback will be refused as invalid_state); raise \
                     MemoryPendingStore's capacity, or look for a flood of anonymous requests to \
                     protected routes"
                );
            }
        }
        // Taken states linger in `order`: compact it before it outgrows
        // the entries (amortised O(1)).
        if order.len() >= 2 * self.capacity {
            order.retain(|s| entries.contains_key(s));
        }
        order.push_back(pending.state.clone());
        entries.insert(pending.state.clone(), (pending, expires));
        Box::pin(async { Ok(()) })
    }

    fn get<'a>(&'a self, state: &'a str) -> StoreFuture<'a, Option<PendingStepUp>> {
        let found = self.lock().entries.get(state).map(|(p, _)| p.clone());
        Box::pin(async move { Ok(found) })
    }

    fn take<'a>(&'a self, state: &'a str) -> StoreFuture<'a, Option<PendingStepUp>> {
        let found = self.lock().entries.remove(state).map(|(p, _)| p);
        Box::pin(async move { Ok(found) })
    }
}

/// A state value as we make them: base64url, 43 characters (32 bytes).
pub(crate) fn well_formed_state(state: &str) -> bool {
    state.len() == 43
        && state
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The pending cookie of `state`: one per step-up in flight, so two tabs
/// stepping up at once do not overwrite each other. `prefix` is the one in
/// use ([`host_name`]).
pub(crate) fn cookie_name(prefix: &str, state: &str) -> String {
    format!("{prefix}.{state}")
}

/// The name a cookie of the step-up is given: on https `__Host-` + `name`
/// (RFC 6265bis §4.1.3.2: Secure, Path=/, no Domain), so a sibling
/// subdomain can neither set nor shadow it; `name` as it is on loopback
/// http, where browsers refuse the prefix.
pub(crate) fn host_name(name: &str, secure: bool) -> String {
    if secure && !name.starts_with("__Host-") {
        format!("__Host-{name}")
    } else {
        name.to_owned()
    }
}

/// The path of the pending cookies: `/` on https (the `__Host-` prefix
/// demands it), the callback's path on http (sent nowhere else).
pub(crate) fn cookie_path(callback_path: &str, secure: bool) -> &str {
    if secure { "/" } else { callback_path }
}

/// Every cookie of the step-up: HttpOnly, SameSite=Lax (the callback is
/// a top-level navigation from the issuer, and must carry it), Secure on
/// https, on `path`.
pub(crate) fn lax_cookie(name: String, value: String, path: &str, secure: bool) -> Cookie<'static> {
    Cookie::build(name, value)
        .path(path.to_owned())
        .http_only(true)
        .secure(secure)
        .same_site(SameSite::Lax)
        .finish()
}

/// A pending cookie: only on the callback's path, for the pending lifetime.
fn pending_cookie(
    name: String,
    value: String,
    path: &str,
    secure: bool,
    lifetime: Duration,
) -> Cookie<'static> {
    let mut c = lax_cookie(name, value, path, secure);
    c.set_max_age(cookie::time::Duration::seconds(
        i64::try_from(lifetime.as_secs()).unwrap_or(i64::MAX),
    ));
    c
}

/// Seals `pending` into its cookie (AES-256-GCM; the cookie's name is the
/// associated data, so a sealed value cannot be moved to another state).
pub(crate) fn seal(
    key: &Key,
    prefix: &str,
    pending: &PendingStepUp,
    path: &str,
    secure: bool,
    lifetime: Duration,
) -> String {
    let value = serde_json::to_string(pending).unwrap_or_default();
    let cookie = pending_cookie(
        cookie_name(prefix, &pending.state),
        value,
        path,
        secure,
        lifetime,
    );
    let mut jar = CookieJar::new();
    jar.private_mut(key).add(cookie);
    jar.delta()
        .next()
        .map(|c| c.to_string())
        .unwrap_or_default()
}

/// The browser-binding cookie of a stored step-up: `secret` in clear (only
/// its hash is stored).
pub(crate) fn binding_cookie(
    prefix: &str,
    state: &str,
    secret: &str,
    path: &str,
    secure: bool,
    lifetime: Duration,
) -> String {
    pending_cookie(
        cookie_name(prefix, state),
        secret.to_owned(),
        path,
        secure,
        lifetime,
    )
    .to_string()
}

/// The hash a binding secret is stored as.
pub(crate) fn binding_hash(secret: &str) -> String {
    use base64::Engine;
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, secret.as_bytes());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest.as_ref())
}

/// A `Set-Cookie` value that deletes the pending cookie of `state`.
pub(crate) fn removal(prefix: &str, state: &str, path: &str, secure: bool) -> String {
    let mut c = pending_cookie(
        cookie_name(prefix, state),
        String::new(),
        path,
        secure,
        Duration::ZERO,
    );
    c.make_removal();
    c.to_string()
}

/// The value of the pending cookie of `state` in a request's `Cookie` header.
pub(crate) fn cookie_value<'a>(
    prefix: &str,
    cookie_header: Option<&'a str>,
    state: &str,
) -> Result<&'a str, StepUpError> {
    cookie_header
        .and_then(|h| crate::guard::cookie(h, &cookie_name(prefix, state)))
        .ok_or(StepUpError::InvalidState(StateProblem::Missing))
}

/// Opens the sealed pending cookie of `state` (its value, from
/// [`cookie_value`]).
pub(crate) fn open(
    key: &Key,
    prefix: &str,
    raw: &str,
    state: &str,
) -> Result<PendingStepUp, StepUpError> {
    let opened = CookieJar::new()
        .private(key)
        .decrypt(Cookie::new(cookie_name(prefix, state), raw.to_owned()))
        .ok_or(StepUpError::InvalidState(StateProblem::Tampered))?;
    let pending: PendingStepUp = serde_json::from_str(opened.value())
        .map_err(|_| StepUpError::InvalidState(StateProblem::Tampered))?;
    if pending.state != state {
        return Err(StepUpError::InvalidState(StateProblem::Mismatch));
    }
    Ok(pending)
}
