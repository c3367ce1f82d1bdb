//! [`Verifier`]: the one pipeline every adapter calls.

use std::any::{Any, TypeId};
use std::sync::Arc;

use jsonwebtoken::Algorithm;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::config::VerifierConfig;
use crate::error::LogoutError;
use crate::error::{InitError, Rejection, RejectionKind, RevokeError, VerifyError};
use crate::jwt::claims::{self, ClaimContext, IdTokenClaims};
use crate::jwt::logout::{self, LogoutContext, LogoutEvent};
use crate::jwt::token::Expected;
use crate::provider::keys::{KeyCache, Lookup};
use crate::revocation::{MemoryStore, Namespace, RevocationStore, Revoked};
use crate::verify::freshness::{self, FreshnessContext};
use crate::verify::memo;
use crate::verify::requirement::{Freshness, Requirement};
use crate::verify::stats::VerifierStats;
use crate::{jwt::json, jwt::token};

pub use crate::jwt::claims::ClaimsMap;

/// The memo of verified tokens, each entry naming the verifier that re-judges it.
type Memo = memo::Memo<Verifier>;
type MemoEntry = memo::MemoEntry<Verifier>;

/// An accepted token: typed standard claims, your extra claims, and the
/// freshness verdict.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Verified<E = ClaimsMap> {
    /// The standard claims, checked.
    pub claims: Arc<IdTokenClaims>,
    /// All claims deserialized into your type (default: the JSON object).
    pub extra: E,
    /// Whether the route's freshness demand was met, waived, or absent.
    pub freshness: Freshness,
    /// The signature algorithm.
    pub alg: Algorithm,
    /// The key id, when the token named one.
    pub kid: Option<String>,
}

impl<E> Verified<E> {
    /// The user (`sub`).
    pub fn subject(&self) -> &str {
        &self.claims.sub
    }

    /// When the user last authenticated (`auth_time`), in Unix seconds.
    pub fn auth_time(&self) -> Option<i64> {
        self.claims.auth_time
    }
}

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
    inner: Arc<Inner>,
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

struct Inner {
    config: Arc<VerifierConfig>,
    keys: Arc<KeyCache>,
    store: Arc<dyn RevocationStore>,
    /// This issuer's namespace in the revocation store.
    namespace: Namespace,
    memo: Option<Memo>,
}

/// A token whose signature verified: its payload and what signed it.
struct Signed {
    alg: Algorithm,
    kid: Option<String>,
    map: Map<String, Value>,
    fingerprint: [u8; 32],
    payload_bytes: usize,
}

/// The claims as the caller's type: the shared map itself for [`ClaimsMap`]
/// (no copy), a deserialization otherwise (a mismatch is `invalid_claim`).
fn extract<E: DeserializeOwned + 'static>(claims: &ClaimsMap) -> Result<E, VerifyError> {
    if TypeId::of::<E>() == TypeId::of::<ClaimsMap>() {
        let shared: Box<dyn Any> = Box::new(Arc::clone(claims));
        if let Ok(e) = shared.downcast::<E>() {
            return Ok(*e);
        }
    }
    E::deserialize(&**claims).map_err(|e| {
        Rejection::new(
            RejectionKind::InvalidClaim,
            format!("claims do not fit the expected shape: {e}"),
        )
        .into()
    })
}

/// The id rule, before any store write (a shared store's readers depend on it).
fn valid_id(what: &'static str, id: &str) -> Result<(), RevokeError> {
    crate::revocation::check_id(id).map_err(|source| RevokeError::InvalidId { what, source })
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
    pub async fn verify_as<E: DeserializeOwned + 'static>(
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
fn log_result<E>(result: Result<Verified<E>, VerifyError>) -> Result<Verified<E>, VerifyError> {
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

impl Verifier {
    /// Steps shared by ID and logout tokens: shape, header, key, signature,
    /// strict JSON payload. Nothing in the payload is trusted before this.
    async fn signed_payload(&self, token: &str, expected: Expected) -> Result<Signed, VerifyError> {
        let config = &*self.inner.config;
        // RFC 8725 §3.1, §3.11, RFC 7515 §5.2: size cap, three parts, header
        // (alg on the allow-list, no crit, typ as expected).
        let algorithms = self.inner.keys.algorithms();
        let parsed = token::parse(token, config.max_token_bytes, &algorithms, expected)?;
        // OIDC Core 3.1.3.7 step 6 / RFC 7515 §5.2 step 8: the key comes only
        // from the issuer's JWKS, by kid (or the single key fitting alg).
        let kid = parsed.kid.as_deref();
        let keys = self.inner.keys.resolve(kid, parsed.alg).await?;
        let Lookup::Found(key, verifier) = keys.find(kid, parsed.alg) else {
            return Err(Rejection::new(RejectionKind::UnknownKey, "key not found").into());
        };
        // Signature over the ASCII `header.payload`, before any claim is read.
        verifier
            .verify_sig(parsed.signing_input.as_bytes(), &parsed.signature)
            .map_err(|_| {
                Rejection::new(RejectionKind::InvalidSignature, "signature does not verify")
            })?;
        // Only now decode the payload: strict JSON, no duplicate members.
        let payload = token::b64(parsed.payload_b64, "payload")?;
        let map = json::parse_object(&payload).map_err(|e| {
            Rejection::new(
                RejectionKind::MalformedToken,
                format!("payload is not a JSON object: {e}"),
            )
        })?;
        Ok(Signed {
            alg: parsed.alg,
            kid: parsed.kid,
            map,
            fingerprint: key.fingerprint,
            payload_bytes: payload.len(),
        })
    }

    fn now_and_leeway(&self) -> (i64, i64) {
        let config = &*self.inner.config;
        let leeway = i64::try_from(config.leeway.as_secs()).unwrap_or(i64::MAX);
        (config.clock.now().timestamp(), leeway)
    }

    /// `set_memo`: an issuer set's memo to use instead of this verifier's.
    async fn run<E: DeserializeOwned + 'static>(
        &self,
        token: &str,
        req: &Requirement,
        set_memo: Option<&Memo>,
    ) -> Result<Verified<E>, VerifyError> {
        let memo = set_memo.or(self.inner.memo.as_ref());
        if let Some(memo) = memo {
            if let Some(entry) = memo.get(token) {
                if let Some(result) = self.judge_memoized(&entry, req).await {
                    return result;
                }
                // The key left the JWKS (or the allow-list changed, or the
                // token expired): forget it and judge it afresh.
                memo.remove(token);
            }
        }
        let config = &*self.inner.config;
        let expected = match config.token_kind {
            crate::jwt::token_kind::TokenKind::IdToken => Expected::Id,
            crate::jwt::token_kind::TokenKind::AccessToken => Expected::Access,
        };
        let signed = self.signed_payload(token, expected).await?;
        let (now, leeway) = self.now_and_leeway();
        // OIDC Core 3.1.3.7 steps 2-10 (iss, aud, azp, exp, iat) and RFC 7519 nbf.
        let claims = claims::validate(
            &signed.map,
            &ClaimContext {
                issuer: &config.issuer,
                audiences: &config.audiences,
                now,
                leeway,
                can_reauthenticate_claim: &config.can_reauthenticate_claim,
                kind: config.token_kind,
            },
        )?;
        let claims = Arc::new(claims);
        let payload: ClaimsMap = Arc::new(signed.map);
        let extra = extract::<E>(&payload)?;
        let freshness = self.decide(&claims, req, now, leeway).await;
        if let Some(memo) = memo {
            let mut entry = MemoEntry::new(
                Arc::clone(&claims),
                payload,
                signed.alg,
                signed.kid.clone(),
                signed.fingerprint,
                signed.payload_bytes,
            );
            if set_memo.is_some() {
                entry.owner = Some(self.clone());
            }
            memo.insert(token, entry);
        }
        Ok(Verified {
            claims,
            extra,
            freshness: freshness?,
            alg: signed.alg,
            kid: signed.kid,
        })
    }

    /// A memo hit: re-runs everything that depends on time or on the world.
    /// `None` means "not usable any more; verify from scratch".
    async fn judge_memoized<E: DeserializeOwned + 'static>(
        &self,
        entry: &MemoEntry,
        req: &Requirement,
    ) -> Option<Result<Verified<E>, VerifyError>> {
        // The allow-list may have changed with a discovery refresh.
        if !self.inner.keys.algorithms().contains(&entry.alg) {
            return None;
        }
        // The signing key must still be published (a removed key stops working).
        let kid = entry.kid.as_deref();
        let keys = match self.inner.keys.resolve(kid, entry.alg).await {
            Ok(keys) => keys,
            Err(VerifyError::Rejected(_)) => return None,
            Err(e) => return Some(Err(e)),
        };
        match keys.find(kid, entry.alg) {
            Lookup::Found(key, _) if key.fingerprint == entry.fingerprint => {}
            _ => return None,
        }
        let (now, leeway) = self.now_and_leeway();
        // exp / nbf / iat against the current time.
        if claims::check_times(&entry.claims, now, leeway).is_err() {
            return None;
        }
        let result = self
            .decide(&entry.claims, req, now, leeway)
            .await
            .and_then(|freshness| {
                let extra = extract::<E>(&entry.payload)?;
                Ok(Verified {
                    claims: entry.claims.clone(),
                    extra,
                    freshness,
                    alg: entry.alg,
                    kid: entry.kid.clone(),
                })
            });
        Some(result)
    }

    /// The store's check. A shared store's copy that cannot vouch for its
    /// answer (stale: a paused process, a reconnect) gets one bounded wait
    /// for its log reader to catch up, then one more check; if that fails
    /// too, the error stands (503 `revocation_unavailable`: fail closed).
    async fn check_revocation(
        &self,
        sub: &str,
        sid: Option<&str>,
        login_time: i64,
        now: i64,
    ) -> Result<Option<Revoked>, crate::revocation::StoreError> {
        let (store, ns) = (&self.inner.store, &self.inner.namespace);
        let first = store.check(ns, sub, sid, login_time, now);
        if first.is_err() && store.until_current().await {
            return store.check(ns, sub, sid, login_time, now);
        }
        first
    }

    /// Revocation, then freshness: the per-request decisions about a token
    /// whose signature and claims are good.
    async fn decide(
        &self,
        claims: &IdTokenClaims,
        req: &Requirement,
        now: i64,
        leeway: i64,
    ) -> Result<Freshness, VerifyError> {
        let config = &*self.inner.config;
        // Revocation: the session (sid), then the user's cut-off, compared with
        // auth_time, so a refreshed token (same auth_time, OIDC Core 12.2)
        // stays revoked. Without auth_time, `iat` is only when the token was
        // (re-)issued, not when the user logged in: a user with a cut-off is
        // refused unless the operator chose to trust iat.
        let login_time = match claims.auth_time {
            Some(t) => t,
            None if config.insecure_trust_iat_as_login_time => claims.iat,
            None => i64::MIN,
        };
        match self
            .check_revocation(&claims.sub, claims.sid.as_deref(), login_time, now)
            .await?
        {
            None => {}
            Some(Revoked::Session) => {
                return Err(
                    Rejection::new(RejectionKind::Revoked, "the session was revoked").into(),
                );
            }
            Some(Revoked::User { .. }) if claims.auth_time.is_none() => {
                return Err(Rejection::new(
                    RejectionKind::Revoked,
                    "the user's sessions were revoked and the token has no auth_time to prove a later login; log in again",
                )
                .into());
            }
            Some(Revoked::User { .. }) => {
                return Err(Rejection::new(
                    RejectionKind::Revoked,
                    "the user's sessions were revoked; log in again",
                )
                .into());
            }
        }
        // RFC 6750 §3.1: the route's scopes, before freshness (a new login
        // would not add a scope).
        let lacking: Vec<&String> = req
            .scopes()
            .iter()
            .filter(|s| !claims.scope.contains(s))
            .collect();
        if !lacking.is_empty() {
            return Err(Rejection::new(
                RejectionKind::InsufficientScope,
                format!(
                    "the token lacks scope {}",
                    lacking
                        .iter()
                        .map(|s| s.as_str())
                        .collect::<Vec<_>>()
                        .join(" ")
                ),
            )
            .with_scope(req.scopes().to_vec())
            .into());
        }
        // Freshness (OIDC Core 3.1.3.7 step 13, RFC 9470): the session lifetime,
        // auth_time vs max_age, the can-reauthenticate policy, acr/amr step-up.
        Ok(freshness::evaluate(
            claims,
            req,
            &FreshnessContext {
                now,
                leeway,
                default_policy: config.when_cannot_reauthenticate,
                max_session_age: config.max_session_age,
            },
        )?)
    }

    /// The revocation store in use.
    pub fn revocation_store(&self) -> &Arc<dyn RevocationStore> {
        &self.inner.store
    }

    /// "Log out all devices": revokes every token of `sub` whose login
    /// (`auth_time`) is at or before `before` (default: now). A cut-off later
    /// than now plus the leeway is refused ([`RevokeError::CutoffInFuture`]):
    /// it would revoke logins that have not happened yet; so is a `sub` that
    /// breaks the id rule ([`RevokeError::InvalidId`]).
    pub async fn revoke_user(&self, sub: &str, before: Option<i64>) -> Result<(), RevokeError> {
        let (now, leeway) = self.now_and_leeway();
        let cutoff = before.unwrap_or(now);
        if cutoff > now.saturating_add(leeway) {
            return Err(RevokeError::CutoffInFuture { cutoff, now });
        }
        valid_id("sub", sub)?;
        let keep = cutoff.saturating_add(self.keep_secs());
        let ns = &self.inner.namespace;
        Ok(self
            .inner
            .store
            .revoke_user(ns, sub, cutoff, keep, now)
            .await?)
    }

    /// Revokes every token carrying this `sid`. An id that breaks the id
    /// rule ([`check_id`](crate::revocation::check_id)) is refused
    /// ([`RevokeError::InvalidId`]) before anything is written.
    pub async fn revoke_session(&self, sid: &str) -> Result<(), RevokeError> {
        valid_id("sid", sid)?;
        let (now, _) = self.now_and_leeway();
        let keep = now.saturating_add(self.keep_secs());
        let ns = &self.inner.namespace;
        Ok(self.inner.store.revoke_session(ns, sid, keep, now).await?)
    }

    fn keep_secs(&self) -> i64 {
        i64::try_from(self.inner.config.revocation_keep().as_secs()).unwrap_or(i64::MAX)
    }

    /// OpenID Connect Back-Channel Logout 1.0 §2.6: validates a logout token
    /// (same keys, issuer and audiences as ID tokens) and records it: its
    /// `sid` is revoked, or, with only a `sub`, every earlier login of the user.
    pub async fn backchannel_logout(&self, logout_token: &str) -> Result<LogoutEvent, LogoutError> {
        let result = self.logout(logout_token).await;
        match &result {
            Ok(e) => {
                tracing::info!(sub = ?e.sub, sid = ?e.sid, "reauth: back-channel logout recorded")
            }
            Err(e) => tracing::debug!(code = e.code(), error = %e, "reauth: logout token refused"),
        }
        result
    }

    async fn logout(&self, logout_token: &str) -> Result<LogoutEvent, LogoutError> {
        let config = &*self.inner.config;
        // §2.6 steps 1-2: a signed JWT, the issuer's key, an allowed alg.
        let map = self
            .signed_payload(logout_token, Expected::Logout)
            .await?
            .map;
        let (now, leeway) = self.now_and_leeway();
        let max_age = i64::try_from(config.logout_token_max_age.as_secs()).unwrap_or(i64::MAX);
        let event = logout::validate(
            &map,
            &LogoutContext {
                issuer: &config.issuer,
                audiences: &config.audiences,
                now,
                leeway,
                max_age,
            },
        )?;
        // The revocation is written first, the jti recorded after: a write
        // that fails answers 503 and the issuer's retry (same jti) is not
        // mistaken for a replay. Writing it again is harmless: a session
        // revocation is idempotent, and a user cut-off is the token's iat
        // (never later than now), so a replay cannot move it.
        match (&event.sid, &event.sub) {
            (Some(sid), _) => self.revoke_session(sid).await?,
            (None, Some(sub)) => self.revoke_user(sub, Some(event.iat.min(now))).await?,
            (None, None) => {}
        }
        // §2.6 step 7: a jti seen before is a replay.
        let keep = event.exp.saturating_add(leeway);
        if !self
            .inner
            .store
            .record_jti(&self.inner.namespace, &event.jti, now, keep)
            .await?
        {
            return Err(Rejection::new(
                RejectionKind::InvalidClaim,
                "jti was already used (replay)",
            )
            .into());
        }
        Ok(event)
    }
}
