//! [`IssuerSet`]: several issuers behind one `verify`, the token's `iss`
//! choosing the verifier (a fixed issuer, or a tenant discovered on first
//! sight through the bounded cache).

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use quick_cache::sync::Cache;
use serde::de::DeserializeOwned;
use tokio::sync::Semaphore;

use crate::error::{ConfigError, FetchError, Rejection, RejectionKind, VerifyError};
use crate::verify::issuers::tenant::{TenantTemplate, valid_tenant};
use crate::verify::issuers::unverified::unverified_issuer;
use crate::verify::requirement::Requirement;
use crate::verify::verifier::{ClaimsMap, Verified, Verifier};

type Memo = crate::verify::memo::Memo<Verifier>;

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
/// data; axum: state, as [`Verifiers`](crate::Verifiers)).
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
    pub(super) fixed: Arc<HashMap<String, Verifier>>,
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

    /// [`Verifier::verify_as`] by the issuer the token names (a token
    /// bound to a DPoP key is refused: it needs
    /// [`verify_presented_as`](Self::verify_presented_as) and its proof).
    pub async fn verify_as<E: DeserializeOwned + 'static>(
        &self,
        token: &str,
        req: &Requirement,
    ) -> Result<Verified<E>, VerifyError> {
        self.verify_presented_as(token, None, req).await
    }

    /// The token's signature, claims and decision, before its presentation
    /// is checked, and the verifier that judged it (the memo entry's owner,
    /// or the issuer's): never a result without its verifier.
    async fn verify_unbound<E: DeserializeOwned + 'static>(
        &self,
        token: &str,
        req: &Requirement,
    ) -> Result<(Verifier, Result<Verified<E>, VerifyError>), VerifyError> {
        if let Some(memo) = &self.memo {
            if let Some(entry) = memo.get(token) {
                if let Some(owner) = &entry.owner {
                    if let Some(result) = owner.judge_entry(&entry, req).await {
                        return Ok((owner.clone(), result));
                    }
                }
                memo.remove(token);
            }
        }
        let verifier = self.choose(token).await?;
        let result = match &self.memo {
            Some(memo) => verifier.verify_in(token, req, memo).await,
            None => verifier.verify_unbound(token, req).await,
        };
        Ok((verifier, result))
    }

    /// [`Verifier::verify_presented_as`] by the token's issuer (the set's
    /// memo shared as in [`verify_as`](Self::verify_as)).
    pub async fn verify_presented_as<E: DeserializeOwned + 'static>(
        &self,
        token: &str,
        dpop: Option<&crate::verify::verifier::DpopPresentation>,
        req: &Requirement,
    ) -> Result<Verified<E>, VerifyError> {
        // The binding is judged by the verifier that judged the token, so
        // no verified result ever skips it.
        let (verifier, result) = self.verify_unbound(token, req).await?;
        verifier.check_binding(result, token, dpop, req).await
    }

    /// The verifier for the token's `iss` (read unverified, only to choose).
    pub async fn choose(&self, token: &str) -> Result<Verifier, VerifyError> {
        let iss = unverified_issuer(token, self.max_token_bytes)?;
        self.verifier_for(&iss).await
    }

    /// The verifier of issuer `iss`: a fixed one, or a tenant's (discovered
    /// now when it matches the template and is not known yet). Unknown
    /// issuers are `invalid_issuer`; a tenant whose discovery fails is
    /// `keys_unavailable`.
    pub async fn verifier_for(&self, iss: &str) -> Result<Verifier, VerifyError> {
        let iss = iss.to_owned();
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
