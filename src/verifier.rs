//! [`Verifier`]: the one pipeline every adapter calls.

use std::sync::Arc;

use jsonwebtoken::Algorithm;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::claims::{self, ClaimContext, IdTokenClaims};
use crate::config::VerifierConfig;
use crate::error::{InitError, Rejection, RejectionKind, VerifyError};
use crate::freshness::{self, FreshnessContext};
use crate::keys::{KeyCache, Lookup};
use crate::requirement::{Freshness, Requirement};
use crate::{json, token};

/// An accepted token: typed standard claims, your extra claims, and the
/// freshness verdict.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Verified<E = Map<String, Value>> {
    /// The standard claims, checked.
    pub claims: IdTokenClaims,
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
#[derive(Clone)]
pub struct Verifier {
    inner: Arc<Inner>,
}

struct Inner {
    config: Arc<VerifierConfig>,
    keys: Arc<KeyCache>,
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
        Ok(Self {
            inner: Arc::new(Inner { config, keys }),
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

    /// Loads keys now if none are usable (single-flight, cooldown permitting),
    /// then says whether keys are ready. For health checks and start-up.
    pub async fn warm_up(&self) -> bool {
        if !self.keys_ready() {
            self.inner.keys.refresh(self.inner.keys.generation()).await;
        }
        self.keys_ready()
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
    pub async fn verify_as<E: DeserializeOwned>(
        &self,
        token: &str,
        requirement: &Requirement,
    ) -> Result<Verified<E>, VerifyError> {
        let result = self.run(token, requirement).await;
        if let Err(e) = &result {
            match e {
                VerifyError::Rejected(r) => tracing::debug!(
                    code = r.code(),
                    message = r.message(),
                    "reauth: token rejected"
                ),
                VerifyError::KeysUnavailable(f) => {
                    tracing::warn!(error = %f, "reauth: could not verify, keys unavailable")
                }
            }
        }
        result
    }

    async fn run<E: DeserializeOwned>(
        &self,
        token: &str,
        req: &Requirement,
    ) -> Result<Verified<E>, VerifyError> {
        let config = &*self.inner.config;
        // Steps 1-3 (RFC 8725 §3.1, §3.11; RFC 7515 §5.2): size cap, three
        // parts, header (alg on the allow-list, no crit, typ JWT or absent).
        let algorithms = self.inner.keys.algorithms();
        let parsed = token::parse(token, config.max_token_bytes, &algorithms)?;
        // OIDC Core 3.1.3.7 step 6 / RFC 7515 §5.2 step 8: the key comes only
        // from the issuer's JWKS, by kid (or the single key fitting alg).
        let keys = self
            .inner
            .keys
            .resolve(parsed.kid.as_deref(), parsed.alg)
            .await?;
        let Lookup::Found(key) = keys.find(parsed.kid.as_deref(), parsed.alg) else {
            return Err(Rejection::new(RejectionKind::UnknownKey, "key not found").into());
        };
        // Signature over the ASCII `header.payload`, before any claim is read.
        key.verify_sig(parsed.signing_input.as_bytes(), &parsed.signature)
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
        let now = config.clock.now().timestamp();
        let leeway = i64::try_from(config.leeway.as_secs()).unwrap_or(i64::MAX);
        // OIDC Core 3.1.3.7 steps 2-10 (iss, aud, azp, exp, iat) and RFC 7519 nbf.
        let claims = claims::validate(
            &map,
            &ClaimContext {
                issuer: &config.issuer,
                audiences: &config.audiences,
                now,
                leeway,
                can_reauthenticate_claim: &config.can_reauthenticate_claim,
            },
        )?;
        // Freshness (OIDC Core 3.1.3.7 step 13, RFC 9470): auth_time vs max_age,
        // the can-reauthenticate policy, acr/amr step-up.
        let freshness = freshness::evaluate(
            &claims,
            req,
            &FreshnessContext {
                now,
                leeway,
                default_policy: config.when_cannot_reauthenticate,
                max_session_age: config.max_session_age,
            },
        )?;
        let extra = serde_json::from_value::<E>(Value::Object(map)).map_err(|e| {
            Rejection::new(
                RejectionKind::InvalidClaim,
                format!("claims do not fit the expected shape: {e}"),
            )
        })?;
        Ok(Verified {
            claims,
            extra,
            freshness,
            alg: parsed.alg,
            kid: parsed.kid,
        })
    }
}
