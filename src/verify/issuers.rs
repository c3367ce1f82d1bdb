//! Issuer sets: several issuers behind one `verify`, fixed or one per
//! tenant from a template (multi-tenant SaaS, a realm per customer, a
//! migration between two providers).
//!
//! The token's `iss` is read from the unverified payload **only to choose**
//! a [`Verifier`]; the chosen verifier then checks everything, `iss`
//! included, with its own audiences, algorithms, policy defaults, memo and
//! revocation namespace (a `sub` of one issuer never matches another's).
//! An `iss` the set does not know is `invalid_issuer` without any network
//! call.
//!
//! A [`TenantTemplate`] such as `https://{tenant}.authgear.cloud` discovers
//! a tenant's issuer on first sight and keeps it in a bounded cache (default
//! 1,000 issuers; quick_cache's CLOCK-Pro eviction, an approximation of
//! least-recently-used). A failed discovery is remembered (default 5 min),
//! at most a few discoveries run at once (default 4; beyond that a new
//! tenant's token gets `keys_unavailable`, 503, at once), and one tenant is
//! discovered by one request while its others wait: a flood of tokens
//! naming random tenants costs at most one discovery per tenant per
//! negative-cache period (for as many failed tenants as the cache holds,
//! `max_issuers`; beyond that the concurrency bound still holds), and
//! tokens of known tenants never wait on it.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use quick_cache::sync::Cache;
use serde::de::DeserializeOwned;
use tokio::sync::Semaphore;

use crate::config::VerifierConfig;
use crate::error::{ConfigError, FetchError, Rejection, RejectionKind, VerifyError};
use crate::revocation::{MemoryStore, RevocationStore};
type Memo = crate::verify::memo::Memo<Verifier>;
use crate::verify::requirement::Requirement;
use crate::verify::verifier::{ClaimsMap, Verified, Verifier};

type MakeConfig = dyn Fn(&str, &str) -> Result<VerifierConfig, ConfigError> + Send + Sync;

/// Issuers discovered on first sight from a template with one `{tenant}`.
///
/// `{tenant}` is 1 to 63 of `a-z`, `0-9` and `-` (a DNS label, lower case):
/// anything else in its place is `invalid_issuer`, never a discovery.
#[derive(Clone)]
pub struct TenantTemplate {
    prefix: String,
    suffix: String,
    config: Arc<MakeConfig>,
    allowed: Option<Vec<String>>,
    max_issuers: usize,
    negative_ttl: Duration,
    max_concurrent_discoveries: usize,
    /// One store for every tenant's verifier (see [`TenantTemplate::revocation_store`]).
    store: Arc<dyn RevocationStore>,
}

impl std::fmt::Debug for TenantTemplate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "TenantTemplate({}{{tenant}}{})",
            self.prefix, self.suffix
        )
    }
}

/// `[a-z0-9-]{1,63}`.
pub fn valid_tenant(t: &str) -> bool {
    (1..=63).contains(&t.len())
        && t.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

impl TenantTemplate {
    /// `template` holds exactly one `{tenant}` (e.g.
    /// `https://{tenant}.authgear.cloud`,
    /// `https://sso.example.com/realms/{tenant}`); `config(issuer, tenant)`
    /// builds each tenant's verifier configuration (its audiences,
    /// algorithms, policy...).
    pub fn new(
        template: &str,
        config: impl Fn(&str, &str) -> Result<VerifierConfig, ConfigError> + Send + Sync + 'static,
    ) -> Result<Self, ConfigError> {
        let bad =
            |why: &str| ConfigError::IssuerSet(format!("issuer template {template:?}: {why}"));
        let (prefix, suffix) = template
            .split_once("{tenant}")
            .ok_or_else(|| bad("it has no {tenant}"))?;
        if suffix.contains("{tenant}") {
            return Err(bad("it has {tenant} twice"));
        }
        if prefix.is_empty() {
            return Err(bad("it must start with https:// (or http:// for loopback)"));
        }
        // The template must give a valid issuer URL for a tenant.
        let url = crate::config::check_url("issuer template", &format!("{prefix}tenant{suffix}"))?;
        if url.query().is_some() || url.fragment().is_some() {
            return Err(ConfigError::IssuerShape(template.to_owned()));
        }
        // OIDC Discovery §4.3: `iss` is compared exactly, so a slash the
        // provider's issuers do not have makes every token `invalid_issuer`.
        // After a path (`.../realms/{tenant}/`) no provider we know writes
        // one; a bare host (`https://{tenant}.auth0.com/`, Auth0's form)
        // keeps it, and a mismatch there is logged per token.
        if suffix.ends_with('/') && url.path() != "/" {
            return Err(bad(
                "it ends with '/' after a path; issuers there have none (Keycloak: \
                 https://sso.example.com/realms/{tenant}): remove the slash",
            ));
        }
        Ok(Self {
            prefix: prefix.to_owned(),
            suffix: suffix.to_owned(),
            config: Arc::new(config),
            allowed: None,
            max_issuers: 1000,
            negative_ttl: Duration::from_secs(300),
            max_concurrent_discoveries: 4,
            store: Arc::new(MemoryStore::new()),
        })
    }

    /// The revocation store of every tenant whose configuration names none.
    /// Defaults to one [`MemoryStore`] for the whole template, never one per
    /// tenant: a tenant's verifier can be evicted from the cache (past
    /// [`max_issuers`](Self::max_issuers)) and discovered again, and its
    /// revocations must outlive it. Entries are namespaced by issuer, so one
    /// store serves every tenant. A configuration closure that gives each
    /// tenant a store of its own loses this; pass one shared store here (or
    /// the same `Arc` from the closure).
    pub fn revocation_store(mut self, store: Arc<dyn RevocationStore>) -> Self {
        self.store = store;
        self
    }

    /// Only these tenants (an allow-list; default: any valid tenant). An
    /// entry the template can never match (`ACME`: tenants are lower case)
    /// is refused by [`IssuerSet::new`].
    pub fn tenants<I: IntoIterator<Item = S>, S: Into<String>>(mut self, tenants: I) -> Self {
        self.allowed = Some(tenants.into_iter().map(Into::into).collect());
        self
    }

    /// The template as written (`https://{tenant}.example.com`).
    pub fn template(&self) -> String {
        format!("{}{{tenant}}{}", self.prefix, self.suffix)
    }

    /// Most tenants' verifiers kept (default 1,000).
    pub fn max_issuers(mut self, n: usize) -> Self {
        self.max_issuers = n.max(1);
        self
    }

    /// How long a failed discovery is remembered (default 5 min).
    pub fn negative_ttl(mut self, ttl: Duration) -> Self {
        self.negative_ttl = ttl;
        self
    }

    /// Most discoveries at once (default 4).
    pub fn max_concurrent_discoveries(mut self, n: usize) -> Self {
        self.max_concurrent_discoveries = n.max(1);
        self
    }

    /// The tenant an `iss` names: `None` unless it fits the template, the
    /// tenant grammar and the allow-list.
    pub fn tenant_of<'a>(&self, iss: &'a str) -> Option<&'a str> {
        let t = iss.strip_prefix(&self.prefix)?.strip_suffix(&self.suffix)?;
        let allowed = self
            .allowed
            .as_ref()
            .is_none_or(|a| a.iter().any(|x| x == t));
        (valid_tenant(t) && allowed).then_some(t)
    }
}

struct Tenants {
    template: TenantTemplate,
    known: Cache<String, Verifier>,
    failed: Cache<String, Instant>,
    discoveries: Semaphore,
}

/// Several issuers behind one `verify`. Cheap to clone.
///
/// The token's `iss` only chooses the [`Verifier`]; that verifier then
/// checks everything with its own configuration. Fixed issuers come from
/// [`IssuerSet::new`], tenants discovered on first sight from a
/// [`TenantTemplate`] (see the README's "Several issuers, many tenants").
/// The adapters take a set wherever they take a `Verifier` (actix: app
/// data; axum: state, as [`Verifiers`]).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use reauth::testing::TestIssuer;
/// use reauth::{IssuerSet, Requirement};
///
/// let current = TestIssuer::start().await; // in production: discovered `Verifier`s
/// let legacy = TestIssuer::start().await;
/// let set = IssuerSet::new([current.verifier().await, legacy.verifier().await], None)?;
///
/// let none = Requirement::none();
/// assert!(set.verify(&current.token().sign(), &none).await.is_ok());
/// assert!(set.verify(&legacy.token().sign(), &none).await.is_ok());
///
/// // An issuer the set does not know: refused without a network call.
/// let stranger = TestIssuer::start().await;
/// let err = set.verify(&stranger.token().sign(), &none).await.unwrap_err();
/// assert_eq!(err.code(), "invalid_issuer");
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct IssuerSet {
    fixed: Arc<HashMap<String, Verifier>>,
    /// One memo for the whole set: a hit is one lookup, as with a single
    /// verifier, and its entry names the verifier that re-judges it.
    memo: Option<Arc<Memo>>,
    tenants: Option<Arc<Tenants>>,
    max_token_bytes: usize,
    discovered: Arc<AtomicU64>,
    /// When an unknown `iss` was last logged (seconds since `started`, plus
    /// one; 0 never) and how many were refused since.
    unknown_logged: Arc<AtomicU64>,
    unknown_since: Arc<AtomicU64>,
    started: Instant,
}

/// How often a refused unknown `iss` is logged at most.
const UNKNOWN_LOG_EVERY: Duration = Duration::from_secs(10);

impl std::fmt::Debug for IssuerSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssuerSet")
            .field("issuers", &self.fixed.keys().collect::<Vec<_>>())
            .field("template", &self.tenants.as_ref().map(|t| &t.template))
            .finish()
    }
}

impl PartialEq for IssuerSet {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.fixed, &other.fixed)
    }
}

impl IssuerSet {
    /// A set of already discovered verifiers (one per issuer), and
    /// optionally a tenant template. Two verifiers of one issuer are a
    /// configuration error.
    pub fn new(
        verifiers: impl IntoIterator<Item = Verifier>,
        template: Option<TenantTemplate>,
    ) -> Result<Self, ConfigError> {
        let mut fixed = HashMap::new();
        let mut max_token_bytes = 16 * 1024;
        for v in verifiers {
            let iss = v.config().issuer().to_owned();
            max_token_bytes = max_token_bytes.max(v.config().max_token_bytes);
            if fixed.insert(iss.clone(), v).is_some() {
                return Err(ConfigError::IssuerSet(format!(
                    "issuer {iss:?} is listed twice"
                )));
            }
        }
        if fixed.is_empty() && template.is_none() {
            return Err(ConfigError::IssuerSet(
                "an issuer set with no issuer and no template".into(),
            ));
        }
        if let Some(t) = &template {
            // An allow-listed tenant that can never match is a typo that
            // would refuse that tenant's every token: refused here.
            for tenant in t.allowed.iter().flatten() {
                if !valid_tenant(tenant) {
                    return Err(ConfigError::IssuerSet(format!(
                        "allowed tenant {tenant:?} can never match {}: a tenant is 1 to 63 of \
                         a-z, 0-9 and - (lower case)",
                        t.template()
                    )));
                }
            }
        }
        let tenants = template.map(|template| {
            Arc::new(Tenants {
                known: Cache::new(template.max_issuers),
                failed: Cache::new(template.max_issuers),
                discoveries: Semaphore::new(template.max_concurrent_discoveries),
                template,
            })
        });
        // The largest memo any member asked for (none when all disabled it).
        let memo = fixed
            .values()
            .map(|v: &Verifier| (v.config().memo_max_entries, v.config().memo_max_bytes))
            .max()
            .or(Some((100_000, 32 * 1024 * 1024)))
            .and_then(|(n, bytes)| Memo::new(n, bytes))
            .map(Arc::new);
        Ok(Self {
            fixed: Arc::new(fixed),
            memo,
            tenants,
            max_token_bytes,
            discovered: Arc::new(AtomicU64::new(0)),
            unknown_logged: Arc::new(AtomicU64::new(0)),
            unknown_since: Arc::new(AtomicU64::new(0)),
            started: Instant::now(),
        })
    }

    /// A token's `iss` matched no issuer and no template: logged with what
    /// the set accepts (at most once per [`UNKNOWN_LOG_EVERY`], with the
    /// count since, so a flood of strangers costs one line), and a hint
    /// when only a trailing slash is in the way.
    fn log_unknown(&self, iss: &str) {
        let now = self.started.elapsed().as_secs();
        let last = self.unknown_logged.load(Ordering::Relaxed);
        self.unknown_since.fetch_add(1, Ordering::Relaxed);
        if last != 0 && now.saturating_sub(last - 1) < UNKNOWN_LOG_EVERY.as_secs() {
            return;
        }
        if self
            .unknown_logged
            .compare_exchange(last, now + 1, Ordering::Relaxed, Ordering::Relaxed)
            .is_err()
        {
            return;
        }
        let trimmed = iss.trim_end_matches('/');
        let slash_variant = [trimmed.to_owned(), format!("{trimmed}/")];
        let template = self.tenants.as_ref().map(|t| &t.template);
        let near = slash_variant.iter().any(|v| {
            v != iss
                && (self.fixed.contains_key(v)
                    || template.is_some_and(|t| t.tenant_of(v).is_some()))
        });
        let issuers: Vec<&String> = self.fixed.keys().take(5).collect();
        tracing::warn!(
            iss = %crate::jwt::token::truncate(iss),
            issuers = ?issuers,
            template = ?template.map(TenantTemplate::template),
            refused_since_last_line = self.unknown_since.swap(0, Ordering::Relaxed),
            hint = if near {
                "it differs from an accepted issuer only by a trailing slash: fix --issuer / the template"
            } else {
                "the token's iss must equal an issuer, or fit the template (tenant: a-z, 0-9, -; allow-list)"
            },
            "reauth: token refused as invalid_issuer"
        );
    }

    /// Tenant discoveries attempted since the set was built.
    pub fn discoveries(&self) -> u64 {
        self.discovered.load(Ordering::Relaxed)
    }

    /// [`Verifier::verify`] by the issuer the token names.
    pub async fn verify(&self, token: &str, req: &Requirement) -> Result<Verified, VerifyError> {
        self.verify_as::<ClaimsMap>(token, req).await
    }

    /// [`Verifier::verify_as`] by the issuer the token names.
    pub async fn verify_as<E: DeserializeOwned + 'static>(
        &self,
        token: &str,
        req: &Requirement,
    ) -> Result<Verified<E>, VerifyError> {
        if let Some(memo) = &self.memo {
            if let Some(entry) = memo.get(token) {
                if let Some(owner) = &entry.owner {
                    if let Some(result) = owner.judge_entry(&entry, req).await {
                        return result;
                    }
                }
                memo.remove(token);
            }
        }
        let verifier = self.choose(token).await?;
        match &self.memo {
            Some(memo) => verifier.verify_in(token, req, memo).await,
            None => verifier.verify_as(token, req).await,
        }
    }

    /// The verifier for the token's `iss` (read unverified, only to choose).
    pub async fn choose(&self, token: &str) -> Result<Verifier, VerifyError> {
        let iss = unverified_issuer(token, self.max_token_bytes)?;
        if let Some(v) = self.fixed.get(&iss) {
            return Ok(v.clone());
        }
        let unknown = || {
            self.log_unknown(&iss);
            VerifyError::from(Rejection::new(
                RejectionKind::InvalidIssuer,
                format!(
                    "iss {:?} is not an issuer this service accepts",
                    crate::jwt::token::truncate(&iss)
                ),
            ))
        };
        let Some(tenants) = &self.tenants else {
            return Err(unknown());
        };
        let Some(tenant) = tenants.template.tenant_of(&iss) else {
            return Err(unknown());
        };
        let unavailable = |reason: String| {
            VerifyError::KeysUnavailable(FetchError {
                what: "tenant discovery",
                url: iss.clone(),
                reason,
            })
        };
        let failed_recently = |t: &str| {
            tenants
                .failed
                .get(t)
                .is_some_and(|at| at.elapsed() < tenants.template.negative_ttl)
        };
        if failed_recently(tenant) {
            return Err(unavailable("its discovery failed recently".into()));
        }
        // One request discovers a tenant; its other requests wait for it.
        let guard = match tenants.known.get_value_or_guard_async(tenant).await {
            Ok(v) => return Ok(v),
            Err(guard) => guard,
        };
        if failed_recently(tenant) {
            return Err(unavailable("its discovery failed recently".into()));
        }
        let Ok(_permit) = tenants.discoveries.try_acquire() else {
            return Err(unavailable("too many discoveries at once; retry".into()));
        };
        self.discovered.fetch_add(1, Ordering::Relaxed);
        let mut config = (tenants.template.config)(&iss, tenant)
            .map_err(|e| unavailable(format!("configuration: {e}")))?;
        // One store for the set: revocations outlive an evicted verifier.
        if config.revocation_store.is_none() {
            config.revocation_store = Some(tenants.template.store.clone());
        }
        match Verifier::discover(config).await {
            Ok(v) => {
                let _ = guard.insert(v.clone());
                Ok(v)
            }
            Err(e) => {
                tracing::warn!(issuer = %iss, error = %e, "reauth: tenant discovery failed");
                tenants.failed.insert(tenant.to_owned(), Instant::now());
                Err(unavailable(e.to_string()))
            }
        }
    }
}

fn quick_iss(payload: &[u8]) -> Option<&str> {
    const KEY: &[u8] = b"\"iss\":\"";
    let start = payload.windows(KEY.len()).position(|w| w == KEY)? + KEY.len();
    let rest = &payload[start..];
    let end = rest.iter().position(|&b| b == b'"' || b == b'\\')?;
    (rest[end] == b'"')
        .then(|| std::str::from_utf8(&rest[..end]).ok())
        .flatten()
}

/// The `iss` of a compact JWS, unverified: only for choosing a verifier.
fn unverified_issuer(token: &str, max_bytes: usize) -> Result<String, Rejection> {
    let malformed = |m: &'static str| Rejection::new(RejectionKind::MalformedToken, m);
    if token.len() > max_bytes {
        return Err(malformed("token is larger than the configured maximum"));
    }
    let mut parts = token.split('.');
    let (Some(_), Some(payload), Some(_), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(malformed("not a compact JWS"));
    };
    let bytes = crate::jwt::token::b64(payload, "payload")?;
    // Fast path: the first `"iss":"<no escapes>"`. Only for choosing: a
    // nested or repeated `iss` picks a verifier that then refuses the token
    // (it parses strictly and compares the top-level `iss` exactly).
    if let Some(iss) = quick_iss(&bytes) {
        return Ok(iss.to_owned());
    }
    #[derive(serde::Deserialize)]
    struct Iss {
        iss: Option<String>,
    }
    let iss: Iss =
        serde_json::from_slice(&bytes).map_err(|_| malformed("payload is not a JSON object"))?;
    iss.iss
        .ok_or_else(|| Rejection::new(RejectionKind::MissingClaim, "iss claim is required"))
}

/// What an adapter or the gate verifies with: one issuer's [`Verifier`], or
/// an [`IssuerSet`]. Register either (actix: app data); the extractors take
/// whichever is there (both at once is a wiring mistake, 500).
#[derive(Debug, Clone, PartialEq)]
pub enum Verifiers {
    /// One issuer.
    One(Verifier),
    /// Several, chosen by each token's `iss`.
    Set(IssuerSet),
}

impl From<Verifier> for Verifiers {
    fn from(v: Verifier) -> Self {
        Self::One(v)
    }
}

impl From<IssuerSet> for Verifiers {
    fn from(s: IssuerSet) -> Self {
        Self::Set(s)
    }
}

impl Verifiers {
    /// [`Verifier::verify_as`], through the set when there is one.
    pub async fn verify_as<E: DeserializeOwned + 'static>(
        &self,
        token: &str,
        req: &Requirement,
    ) -> Result<Verified<E>, VerifyError> {
        match self {
            Self::One(v) => v.verify_as(token, req).await,
            Self::Set(s) => s.verify_as(token, req).await,
        }
    }

    /// The verifiers known now: the one, or the set's fixed issuers and the
    /// tenants discovered so far.
    pub fn known(&self) -> Vec<Verifier> {
        match self {
            Self::One(v) => vec![v.clone()],
            Self::Set(s) => s.known(),
        }
    }

    /// [`Verifier::warm_up`] for every fixed issuer (tenants are loaded on
    /// first sight): true when all have keys.
    pub async fn warm_up(&self) -> bool {
        let fixed = match self {
            Self::One(v) => vec![v.clone()],
            Self::Set(s) => s.fixed.values().cloned().collect(),
        };
        let mut ready = true;
        for v in fixed {
            ready &= v.warm_up().await;
        }
        ready
    }

    /// The counters of every known verifier, summed; the oldest keys' fetch
    /// time; the stalest revocation copy.
    pub fn stats(&self) -> crate::verify::stats::VerifierStats {
        let mut total = crate::verify::stats::VerifierStats::default();
        for s in self.known().iter().map(Verifier::stats) {
            total.jwks_fetches += s.jwks_fetches;
            total.jwks_fetch_failures += s.jwks_fetch_failures;
            total.memo_hits += s.memo_hits;
            total.memo_misses += s.memo_misses;
            total.keys_fetched_at = match (total.keys_fetched_at, s.keys_fetched_at) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            total.revocation = match (total.revocation, s.revocation) {
                (Some(a), Some(b)) if b.staleness > a.staleness => Some(b),
                (a, b) => a.or(b),
            };
        }
        total
    }

    /// [`Verifier::backchannel_logout`] by the logout token's issuer.
    pub async fn backchannel_logout(
        &self,
        logout_token: &str,
    ) -> Result<crate::jwt::logout::LogoutEvent, crate::error::LogoutError> {
        let v = match self {
            Self::One(v) => v.clone(),
            Self::Set(s) => s.choose(logout_token).await.map_err(|e| match e {
                VerifyError::Rejected(r) => crate::error::LogoutError::Rejected(r),
                VerifyError::KeysUnavailable(f) => crate::error::LogoutError::KeysUnavailable(f),
                VerifyError::RevocationUnavailable(s) => crate::error::LogoutError::Store(s),
            })?,
        };
        v.backchannel_logout(logout_token).await
    }
}

impl IssuerSet {
    /// The fixed issuers' verifiers and the tenants' discovered so far.
    pub fn known(&self) -> Vec<Verifier> {
        let mut out: Vec<Verifier> = self.fixed.values().cloned().collect();
        if let Some(t) = &self.tenants {
            out.extend(t.known.iter().map(|(_, v)| v));
        }
        out
    }
}
