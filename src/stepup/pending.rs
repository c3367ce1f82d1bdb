//! What a step-up keeps between `begin` and `finish`, and where: in a
//! cookie sealed with AES-256-GCM (no server-side state), or in a store
//! the app provides (shared by its instances, single use everywhere).

use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;
use std::time::Duration;

use cookie::{Cookie, CookieJar, Key, SameSite};
use serde::{Deserialize, Serialize};

use super::StepUpError;
use super::error::StateProblem;
use crate::requirement::{ReauthPolicy, Requirement};

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
/// cache, shared by every instance of the app. `take` must be atomic (a
/// `GETDEL`, a `DELETE ... RETURNING`): it is what makes a callback good
/// once across instances.
pub trait PendingStore: Send + Sync + 'static {
    /// Keeps `pending` under its [`state`](PendingStepUp::state) for at
    /// least `lifetime`.
    fn put(&self, pending: PendingStepUp, lifetime: Duration) -> StoreFuture<'_, ()>;
    /// Removes and returns the pending step-up for `state`, if any.
    fn take<'a>(&'a self, state: &'a str) -> StoreFuture<'a, Option<PendingStepUp>>;
}

/// A [`PendingStore`] in this process's memory, for one instance (and
/// tests). Holds at most `capacity` step-ups; the oldest go first.
#[derive(Debug)]
pub struct MemoryPendingStore {
    entries: Mutex<std::collections::VecDeque<PendingStepUp>>,
    capacity: usize,
}

impl MemoryPendingStore {
    /// A store for at most `capacity` step-ups in flight.
    pub fn new(capacity: usize) -> Self {
        Self {
            entries: Mutex::new(std::collections::VecDeque::new()),
            capacity: capacity.max(1),
        }
    }
}

impl PendingStore for MemoryPendingStore {
    fn put(&self, pending: PendingStepUp, _lifetime: Duration) -> StoreFuture<'_, ()> {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if entries.len() >= self.capacity {
            entries.pop_front();
        }
        entries.push_back(pending);
        Box::pin(async { Ok(()) })
    }

    fn take<'a>(&'a self, state: &'a str) -> StoreFuture<'a, Option<PendingStepUp>> {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        let found = entries
            .iter()
            .position(|p| p.state == state)
            .and_then(|i| entries.remove(i));
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
/// stepping up at once do not overwrite each other.
pub(crate) fn cookie_name(prefix: &str, state: &str) -> String {
    format!("{prefix}.{state}")
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
    let cookie = Cookie::build(cookie_name(prefix, &pending.state), value)
        .path(path.to_owned())
        .http_only(true)
        .secure(secure)
        .same_site(SameSite::Lax)
        .max_age(cookie::time::Duration::seconds(
            i64::try_from(lifetime.as_secs()).unwrap_or(i64::MAX),
        ))
        .finish();
    let mut jar = CookieJar::new();
    jar.private_mut(key).add(cookie);
    jar.delta()
        .next()
        .map(|c| c.to_string())
        .unwrap_or_default()
}

/// A `Set-Cookie` value that deletes the pending cookie of `state`.
pub(crate) fn removal(prefix: &str, state: &str, path: &str, secure: bool) -> String {
    let mut c = Cookie::build(cookie_name(prefix, state), "")
        .path(path.to_owned())
        .http_only(true)
        .secure(secure)
        .same_site(SameSite::Lax)
        .finish();
    c.make_removal();
    c.to_string()
}

/// Opens the pending cookie of `state` from a request's `Cookie` header.
pub(crate) fn open(
    key: &Key,
    prefix: &str,
    cookie_header: Option<&str>,
    state: &str,
) -> Result<PendingStepUp, StepUpError> {
    let name = cookie_name(prefix, state);
    let raw = cookie_header
        .into_iter()
        .flat_map(|h| h.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim().to_owned())
        .ok_or(StepUpError::InvalidState(StateProblem::Missing))?;
    let opened = cookie::CookieJar::new()
        .private(key)
        .decrypt(Cookie::new(name, raw))
        .ok_or(StepUpError::InvalidState(StateProblem::Tampered))?;
    let pending: PendingStepUp = serde_json::from_str(opened.value())
        .map_err(|_| StepUpError::InvalidState(StateProblem::Tampered))?;
    if pending.state != state {
        return Err(StepUpError::InvalidState(StateProblem::Mismatch));
    }
    Ok(pending)
}
