//! The key cache: discovery document and JWKS, fetched at the edge, shared
//! by every request.
//!
//! - TTL from `Cache-Control`, clamped ([`super::cache_control`]);
//! - an unknown `kid` triggers one refresh, at most one per cooldown;
//! - single-flight: whoever needs a refresh waits on one mutex and re-checks
//!   a generation counter, so N waiters cause one fetch; callers whose key is
//!   known read a snapshot and never wait on that mutex;
//! - an expired set is refreshed in the background while it keeps serving;
//!   a failed refresh keeps the last good keys for `stale_if_error`, after
//!   which the answer is `keys_unavailable` (never a rejection).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use jsonwebtoken::Algorithm;
use reqwest::Url;

use super::cache_control;
use super::set::{KeySet, Lookup};
use crate::config::VerifierConfig;
use crate::error::{FetchError, InitError, Rejection, RejectionKind, VerifyError};
use crate::provider::discovery::{self, Discovery, DiscoveryError};
use crate::provider::http::HttpFetcher;

/// What every request reads: cheap to clone (Arcs and integers).
#[derive(Clone)]
struct State {
    discovery: Arc<Discovery>,
    algorithms: Arc<[Algorithm]>,
    discovery_fetched_at: i64,
    keys: Option<Arc<KeySet>>,
    /// When the keys' TTL ends (ms since the epoch, by the configured clock).
    expires_at: i64,
    last_attempt: Option<i64>,
    generation: u64,
    last_error: Option<Arc<FetchError>>,
    /// When the keys in use were fetched (ms since the epoch).
    keys_fetched_at: Option<i64>,
}

pub(crate) struct KeyCache {
    config: Arc<VerifierConfig>,
    fetcher: HttpFetcher,
    discovery_url: Url,
    state: RwLock<State>,
    refresh_lock: tokio::sync::Mutex<()>,
    background_running: AtomicBool,
    /// JWKS fetches attempted, and failed (metrics).
    fetches: AtomicU64,
    failures: AtomicU64,
}

fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

impl KeyCache {
    /// Fetches and checks the discovery document (failure is fatal), then
    /// tries to load the keys (failure is logged; requests will retry).
    pub async fn init(config: Arc<VerifierConfig>) -> Result<Arc<Self>, InitError> {
        let fetcher = HttpFetcher::new(&config)?;
        let discovery_url = crate::config::check_url("discovery URL", &config.discovery_url())?;
        let discovery = fetch_discovery(&fetcher, &discovery_url, &config.issuer)
            .await
            .map_err(|e| match e {
                DiscoveryError::Init(init) => init,
                DiscoveryError::Invalid(reason) => InitError::Discovery(FetchError {
                    what: "discovery document",
                    url: discovery_url.to_string(),
                    reason,
                }),
            })?;
        let algorithms = discovery::allowed_algorithms(
            config.algorithms.as_deref(),
            discovery.id_token_algs.as_deref(),
        )?;
        let now = now_ms(&config);
        let cache = Arc::new(Self {
            state: RwLock::new(State {
                discovery: Arc::new(discovery),
                algorithms: algorithms.into(),
                discovery_fetched_at: now,
                keys: None,
                expires_at: i64::MIN,
                last_attempt: None,
                generation: 0,
                last_error: None,
                keys_fetched_at: None,
            }),
            config,
            fetcher,
            discovery_url,
            refresh_lock: tokio::sync::Mutex::new(()),
            background_running: AtomicBool::new(false),
            fetches: AtomicU64::new(0),
            failures: AtomicU64::new(0),
        });
        cache.refresh(0).await;
        Ok(cache)
    }

    fn snapshot(&self) -> State {
        self.state.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The current refresh generation (see [`refresh`](Self::refresh)).
    pub fn generation(&self) -> u64 {
        self.state
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .generation
    }

    /// The discovery document in force (refreshed with the keys).
    pub fn discovery(&self) -> Arc<Discovery> {
        self.state
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .discovery
            .clone()
    }

    /// The algorithm allow-list in force.
    pub fn algorithms(&self) -> Arc<[Algorithm]> {
        self.state
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .algorithms
            .clone()
    }

    fn stale_limit(&self, st: &State) -> i64 {
        st.expires_at.saturating_add(ms(self.config.stale_if_error))
    }

    /// JWKS fetches attempted and failed, and when the keys in use were
    /// fetched (ms since the epoch).
    pub fn counts(&self) -> (u64, u64, Option<i64>) {
        (
            self.fetches.load(Ordering::Relaxed),
            self.failures.load(Ordering::Relaxed),
            self.snapshot().keys_fetched_at,
        )
    }

    /// True when the last JWKS fetch failed (the keys in use are the last
    /// good ones, or none).
    #[cfg(feature = "signals")]
    pub fn last_fetch_failed(&self) -> bool {
        self.state
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .last_error
            .is_some()
    }

    /// True when usable keys are loaded and not stale beyond the bound.
    pub fn keys_ready(&self) -> bool {
        let st = self.snapshot();
        st.keys.is_some() && now_ms(&self.config) < self.stale_limit(&st)
    }

    /// Returns the key set holding a key for (`kid`, `alg`), fetching as the
    /// policy allows.
    pub async fn resolve(
        self: &Arc<Self>,
        kid: Option<&str>,
        alg: Algorithm,
    ) -> Result<Arc<KeySet>, VerifyError> {
        let now = now_ms(&self.config);
        // The common case, keys within their TTL that know this key: one
        // read lock and one reference count, no snapshot of the whole state.
        {
            let st = self.state.read().unwrap_or_else(|p| p.into_inner());
            if let Some(keys) = st.keys.as_ref().filter(|_| now < st.expires_at) {
                match keys.find(kid, alg) {
                    Lookup::Found(..) => return Ok(Arc::clone(keys)),
                    // Perhaps the issuer rotated: the path below refreshes.
                    Lookup::Unknown => {}
                    other => return Err(lookup_rejection(other, kid, alg).into()),
                }
            }
        }
        let mut st = self.snapshot();
        if st.keys.is_none() || now >= self.stale_limit(&st) {
            // Nothing servable: this caller has to wait for a fetch.
            self.refresh(st.generation).await;
            st = self.snapshot();
            let now = now_ms(&self.config);
            if st.keys.is_none() || now >= self.stale_limit(&st) {
                return Err(VerifyError::KeysUnavailable(
                    st.last_error
                        .as_deref()
                        .cloned()
                        .unwrap_or_else(|| FetchError {
                            what: "JWKS",
                            url: st.discovery.jwks_uri.to_string(),
                            reason:
                                "no usable keys are loaded and the refresh cooldown has not passed"
                                    .into(),
                        }),
                ));
            }
        } else if now >= st.expires_at {
            // Expired but servable: refresh behind the scenes, answer now.
            self.spawn_background_refresh(&st, now);
        }
        let keys = st.keys.clone().unwrap_or_default();
        match keys.find(kid, alg) {
            Lookup::Found(..) => return Ok(keys),
            Lookup::Unknown => {}
            other => return Err(lookup_rejection(other, kid, alg).into()),
        }
        // Unknown kid: perhaps the issuer rotated. One refresh, cooldown permitting.
        self.refresh(st.generation).await;
        let keys = self.snapshot().keys.unwrap_or_default();
        match keys.find(kid, alg) {
            Lookup::Found(..) => Ok(keys),
            other => Err(lookup_rejection(other, kid, alg).into()),
        }
    }

    fn spawn_background_refresh(self: &Arc<Self>, st: &State, now: i64) {
        if self.in_cooldown(st, now) || self.background_running.swap(true, Ordering::AcqRel) {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            self.background_running.store(false, Ordering::Release);
            return;
        };
        let this = Arc::clone(self);
        let generation = st.generation;
        runtime.spawn(async move {
            this.refresh(generation).await;
            this.background_running.store(false, Ordering::Release);
        });
    }

    fn in_cooldown(&self, st: &State, now: i64) -> bool {
        st.last_attempt
            .is_some_and(|last| now.saturating_sub(last) < ms(self.config.jwks_refresh_cooldown))
    }

    /// Fetches unless another caller already did since `seen_generation`, or
    /// the last attempt was within the cooldown. Never drops good keys.
    pub async fn refresh(&self, seen_generation: u64) {
        let _single_flight = self.refresh_lock.lock().await;
        let st = self.snapshot();
        let now = now_ms(&self.config);
        if st.generation != seen_generation || self.in_cooldown(&st, now) {
            return;
        }
        {
            let mut w = self.state.write().unwrap_or_else(|p| p.into_inner());
            w.last_attempt = Some(now);
        }
        let discovery = self.maybe_refresh_discovery(&st, now).await;
        let result = self.fetch_keys(&discovery.0.jwks_uri).await;
        self.fetches.fetch_add(1, Ordering::Relaxed);
        let done = now_ms(&self.config);
        let mut w = self.state.write().unwrap_or_else(|p| p.into_inner());
        if let Some((doc, algs, at)) = discovery.1 {
            w.discovery = doc;
            w.algorithms = algs;
            w.discovery_fetched_at = at;
        }
        w.generation += 1;
        match result {
            Ok((keys, ttl)) => {
                tracing::info!(
                    keys = keys.len(),
                    ttl_secs = ttl.as_secs(),
                    "reauth: JWKS loaded"
                );
                w.keys = Some(Arc::new(keys));
                w.expires_at = done.saturating_add(ms(ttl));
                w.last_error = None;
                w.keys_fetched_at = Some(done);
            }
            Err(e) => {
                self.failures.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(error = %e, have_keys = w.keys.is_some(), "reauth: JWKS refresh failed; keeping the last good keys");
                w.last_error = Some(Arc::new(e));
            }
        }
    }

    /// Re-fetches discovery when it is due; a failure keeps the old document.
    #[allow(clippy::type_complexity)]
    async fn maybe_refresh_discovery(
        &self,
        st: &State,
        now: i64,
    ) -> (
        Arc<Discovery>,
        Option<(Arc<Discovery>, Arc<[Algorithm]>, i64)>,
    ) {
        if now.saturating_sub(st.discovery_fetched_at) < ms(self.config.discovery_refresh_interval)
        {
            return (st.discovery.clone(), None);
        }
        let refreshed = fetch_discovery(&self.fetcher, &self.discovery_url, &self.config.issuer)
            .await
            .map_err(|e| match e {
                DiscoveryError::Invalid(s) => s,
                DiscoveryError::Init(i) => i.to_string(),
            })
            .and_then(|doc| {
                let algs = discovery::allowed_algorithms(
                    self.config.algorithms.as_deref(),
                    doc.id_token_algs.as_deref(),
                )
                .map_err(|e| e.to_string())?;
                Ok((doc, algs))
            });
        match refreshed {
            Ok((doc, algs)) => {
                let doc = Arc::new(doc);
                (doc.clone(), Some((doc, algs.into(), now)))
            }
            Err(reason) => {
                tracing::warn!(%reason, "reauth: discovery refresh failed; keeping the previous document");
                (st.discovery.clone(), None)
            }
        }
    }

    async fn fetch_keys(&self, jwks_uri: &Url) -> Result<(KeySet, Duration), FetchError> {
        let fetched = self.fetcher.get("JWKS", jwks_uri).await?;
        let (keys, skipped) =
            KeySet::parse(&fetched.body, self.config.max_jwks_keys).map_err(|reason| {
                FetchError {
                    what: "JWKS",
                    url: jwks_uri.to_string(),
                    reason,
                }
            })?;
        for why in &skipped {
            tracing::debug!(%why, "reauth: JWKS entry skipped");
        }
        if keys.len() == 0 {
            tracing::warn!(
                skipped = skipped.len(),
                "reauth: the issuer's JWKS holds no usable signing key"
            );
        }
        let c = &self.config;
        let ttl = cache_control::ttl(
            fetched.cache_control.as_deref(),
            c.jwks_default_ttl,
            c.jwks_min_ttl,
            c.jwks_max_ttl,
        );
        Ok((keys, ttl))
    }
}

fn now_ms(config: &VerifierConfig) -> i64 {
    config.clock.now().timestamp_millis()
}

async fn fetch_discovery(
    fetcher: &HttpFetcher,
    url: &Url,
    issuer: &str,
) -> Result<Discovery, DiscoveryError> {
    let fetched = fetcher
        .get("discovery document", url)
        .await
        .map_err(|e| DiscoveryError::Init(InitError::Discovery(e)))?;
    discovery::parse(&fetched.body, issuer)
}

fn lookup_rejection(lookup: Lookup<'_>, kid: Option<&str>, alg: Algorithm) -> Rejection {
    let kid = kid.map(crate::jwt::token::truncate);
    match lookup {
        Lookup::WrongAlgorithm => Rejection::new(
            RejectionKind::UnsupportedAlgorithm,
            format!("key {kid:?} may not be used with {alg:?}"),
        ),
        Lookup::Ambiguous(n) => Rejection::new(
            RejectionKind::UnknownKey,
            format!("token has no kid and {n} keys fit {alg:?}"),
        ),
        _ => Rejection::new(
            RejectionKind::UnknownKey,
            match kid {
                Some(kid) => format!("no usable key with kid {kid:?} in the issuer's JWKS"),
                None => format!("token has no kid and no key fits {alg:?}"),
            },
        ),
    }
}
