//! The [`Verifier`] handle: how it is built (discovery), what it shares
//! between clones, its accessors and its public entry points. The
//! pipeline behind them: [`check`](super::check) (signature and claims,
//! or a memo hit) and [`decide`](super::decide) (revocation, scopes,
//! freshness); revocation writes in [`revoke`](super::revoke).

use std::sync::Arc;

use jsonwebtoken::Algorithm;
use serde::de::DeserializeOwned;

use crate::config::VerifierConfig;
use crate::error::{InitError, VerifyError};
use crate::provider::keys::KeyCache;
use crate::revocation::{MemoryStore, Namespace, RevocationStore};
use crate::verify::memo;
use crate::verify::requirement::Requirement;
use crate::verify::stats::VerifierStats;
use crate::verify::verifier::verified::Verified;

/// The memo of verified tokens, each entry naming the verifier that re-judges it.
pub(super) type Memo = memo::Memo<Verifier>;
pub(super) type MemoEntry = memo::MemoEntry<Verifier>;

/// Verifies ID tokens for one issuer. Cheap to clone; clones share the key
/// cache. Build one per issuer at start-up and share it.
///
/// [`discover`](Self::discover) fetches the issuer's discovery document and
/// JWKS once; [`verify`](Self::verify) then checks each token against the
/// route's [`Requirement`](crate::Requirement) (signature, claims, and how
/// recent the login is). The adapters' extractors
/// ([`actix::Reauthenticated`](crate::actix::Reauthenticated),
/// [`axum::Reauthenticated`](crate::axum::Reauthenticated)) take it from
/// app data or state. Several issuers: [`IssuerSet`](crate::IssuerSet).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use std::time::Duration;
///
/// use reauth::testing::TestIssuer;
/// use reauth::{Requirement, Verifier, VerifierConfig};
///
/// let issuer = TestIssuer::start().await; // in production: your issuer's URL
/// let verifier = Verifier::discover(
///     VerifierConfig::builder(issuer.issuer()) // e.g. "https://myapp.authgear.cloud"
///         .audience("test-client") // your client id
///         .build()?,
/// )
/// .await?;
///
/// let delete_account = Requirement::max_age(Duration::from_secs(300));
/// let user = verifier.verify(&issuer.token().sign(), &delete_account).await?;
/// assert_eq!(user.subject(), "user-1");
///
/// // A login an hour old: 401 and a challenge the client acts on.
/// let stale = issuer.token().auth_time_ago(3600).sign();
/// let err = verifier.verify(&stale, &delete_account).await.unwrap_err();
/// assert_eq!((err.code(), err.status()), ("authentication_too_old", 401));
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct Verifier {
    pub(super) inner: Arc<Inner>,
}

/// Two verifiers are equal when one is a clone of the other (they share one
/// key cache and configuration); two built separately are not, even from
/// the same configuration.
impl PartialEq for Verifier {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }
}

impl Eq for Verifier {}

/// What every clone of a [`Verifier`] shares.
pub(super) struct Inner {
    pub(super) config: Arc<VerifierConfig>,
    pub(super) keys: Arc<KeyCache>,
    pub(super) store: Arc<dyn RevocationStore>,
    /// This issuer's namespace in the revocation store.
    pub(super) namespace: Namespace,
    pub(super) memo: Option<Memo>,
    /// DPoP proof limits and nonces (RFC 9449).
    pub(super) dpop: super::dpop_settings::DpopState,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier")
            .field("issuer", &self.inner.config.issuer)
            .field("audiences", &self.inner.config.audiences)
            .finish_non_exhaustive()
    }
}

impl Verifier {
    /// Fetches the issuer's discovery document (its `issuer` must equal the
    /// configured one) and tries to load its keys. Fails on a configuration
    /// or discovery error; a JWKS that cannot be loaded yet is retried by
    /// later calls (which answer `keys_unavailable` meanwhile).
    pub async fn discover(config: VerifierConfig) -> Result<Self, InitError> {
        let config = Arc::new(config);
        let keys = KeyCache::init(config.clone()).await?;
        let store = config
            .revocation_store
            .clone()
            .unwrap_or_else(|| Arc::new(MemoryStore::new()));
        // A shared store keeps every entry at least as long as this
        // verifier's session lifetime (or retention) needs, whoever writes it.
        store
            .require_retention(config.revocation_keep())
            .await
            .map_err(InitError::Revocation)?;
        let memo = Memo::new(config.memo_max_entries, config.memo_max_bytes);
        let namespace = Namespace::new(&config.issuer);
        // ...and records the issuers it serves (what `reauth revoke` checks).
        store
            .register_issuer(&namespace)
            .await
            .map_err(InitError::Revocation)?;
        Ok(Self {
            inner: Arc::new(Inner {
                dpop: super::dpop_settings::DpopState::new(&config),
                config,
                keys,
                store,
                namespace,
                memo,
            }),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &VerifierConfig {
        &self.inner.config
    }

    /// True once usable keys are loaded (and not stale beyond the bound).
    pub fn keys_ready(&self) -> bool {
        self.inner.keys.keys_ready()
    }

    /// Counters for metrics and readiness: JWKS fetches, the memo, the
    /// revocation store's sync.
    pub fn stats(&self) -> VerifierStats {
        let (jwks_fetches, jwks_fetch_failures, fetched_ms) = self.inner.keys.counts();
        let (memo_hits, memo_misses) = self.inner.memo.as_ref().map_or((0, 0), Memo::counts);
        VerifierStats {
            jwks_fetches,
            jwks_fetch_failures,
            keys_fetched_at: fetched_ms.map(|ms| ms.div_euclid(1000)),
            memo_hits,
            memo_misses,
            revocation: self.inner.store.sync(),
        }
    }

    /// Loads keys now if none are usable (single-flight, cooldown permitting),
    /// then says whether keys are ready. For health checks and start-up.
    pub async fn warm_up(&self) -> bool {
        if !self.keys_ready() {
            self.inner.keys.refresh(self.inner.keys.generation()).await;
        }
        self.keys_ready()
    }

    /// What the issuer's discovery document says about its authorization
    /// and token endpoints (for the browser step-up).
    #[cfg_attr(not(feature = "stepup"), allow(dead_code))]
    pub(crate) fn authorization_metadata(
        &self,
    ) -> crate::provider::discovery::AuthorizationMetadata {
        self.inner.keys.discovery().authorization.clone()
    }

    /// The algorithm allow-list in force.
    pub fn algorithms(&self) -> Vec<Algorithm> {
        self.inner.keys.algorithms().to_vec()
    }

    /// The revocation store in use.
    pub fn revocation_store(&self) -> &Arc<dyn RevocationStore> {
        &self.inner.store
    }

    /// Verifies `token` against `requirement`, extra claims as a JSON map.
    pub async fn verify(
        &self,
        token: &str,
        requirement: &Requirement,
    ) -> Result<Verified, VerifyError> {
        self.verify_as(token, requirement).await
    }

    /// Verifies `token` against `requirement`, deserializing all claims into
    /// `E` (a claim of the wrong shape for `E` is `invalid_claim`).
    /// A token bound to a DPoP key (`cnf.jkt`) is refused here: it needs
    /// [`verify_presented_as`](Self::verify_presented_as) and its proof.
    pub async fn verify_as<E: DeserializeOwned + 'static>(
        &self,
        token: &str,
        requirement: &Requirement,
    ) -> Result<Verified<E>, VerifyError> {
        self.verify_presented_as(token, None, requirement).await
    }

    /// The token's signature, claims and decision, before its presentation
    /// is checked (an issuer set checks the presentation itself).
    pub(crate) async fn verify_unbound<E: DeserializeOwned + 'static>(
        &self,
        token: &str,
        requirement: &Requirement,
    ) -> Result<Verified<E>, VerifyError> {
        log_result(self.run(token, requirement, None).await)
    }

    /// [`verify_as`](Self::verify_as) with an issuer set's shared memo in
    /// place of this verifier's own (its entries name their verifier).
    pub(crate) async fn verify_in<E: DeserializeOwned + 'static>(
        &self,
        token: &str,
        requirement: &Requirement,
        set_memo: &Memo,
    ) -> Result<Verified<E>, VerifyError> {
        log_result(self.run(token, requirement, Some(set_memo)).await)
    }

    /// Re-judges a memoised entry (an issuer set's memo hit).
    pub(crate) async fn judge_entry<E: DeserializeOwned + 'static>(
        &self,
        entry: &MemoEntry,
        requirement: &Requirement,
    ) -> Option<Result<Verified<E>, VerifyError>> {
        Some(log_result(self.judge_memoized(entry, requirement).await?))
    }
}

/// Logs a failed verification at the level it deserves.
pub(super) fn log_result<E>(
    result: Result<Verified<E>, VerifyError>,
) -> Result<Verified<E>, VerifyError> {
    {
        if let Err(e) = &result {
            match e {
                VerifyError::Rejected(r) => tracing::debug!(
                    code = r.code(),
                    message = r.message(),
                    "reauth: token rejected"
                ),
                VerifyError::RevocationUnavailable(s) => {
                    tracing::warn!(error = %s, "reauth: could not verify, revocation store unavailable")
                }
                VerifyError::KeysUnavailable(f) => {
                    tracing::warn!(error = %f, "reauth: could not verify, keys unavailable")
                }
            }
        }
        result
    }
}
