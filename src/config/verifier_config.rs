//! [`VerifierConfig`]: what a verifier is configured with, read by the
//! rest of the crate. Built (and validated) by
//! [`VerifierConfigBuilder`](crate::VerifierConfigBuilder).

use std::sync::Arc;
use std::time::Duration;

use jsonwebtoken::Algorithm;

use crate::clock::SharedClock;
use crate::config::reauth_policy::ReauthPolicy;
use crate::revocation::RevocationStore;

/// How a [`Verifier`](crate::Verifier) decides. Build with [`VerifierConfig::builder`].
#[derive(Debug, Clone)]
pub struct VerifierConfig {
    pub(crate) issuer: String,
    pub(crate) audiences: Vec<String>,
    pub(crate) algorithms: Option<Vec<Algorithm>>,
    pub(crate) leeway: Duration,
    pub(crate) can_reauthenticate_claim: String,
    pub(crate) when_cannot_reauthenticate: ReauthPolicy,
    pub(crate) clock: SharedClock,
    pub(crate) http_timeout: Duration,
    pub(crate) max_response_bytes: usize,
    pub(crate) max_token_bytes: usize,
    pub(crate) max_jwks_keys: usize,
    pub(crate) max_redirects: usize,
    pub(crate) jwks_default_ttl: Duration,
    pub(crate) jwks_min_ttl: Duration,
    pub(crate) jwks_max_ttl: Duration,
    pub(crate) jwks_refresh_cooldown: Duration,
    pub(crate) stale_if_error: Duration,
    pub(crate) discovery_refresh_interval: Duration,
    pub(crate) max_session_age: Option<Duration>,
    pub(crate) revocation_store: Option<Arc<dyn RevocationStore>>,
    pub(crate) revocation_retention: Duration,
    pub(crate) logout_token_max_age: Duration,
    pub(crate) memo_max_entries: usize,
    pub(crate) memo_max_bytes: u64,
    pub(crate) insecure_trust_iat_as_login_time: bool,
    pub(crate) token_kind: crate::jwt::token_kind::TokenKind,
    /// Where the issuer's metadata (`issuer`, `jwks_uri`) is read, when it
    /// is not OIDC discovery: a Shared Signals transmitter's
    /// `/.well-known/ssf-configuration` (set by `reauth::signals`).
    pub(crate) metadata_url: Option<String>,
    /// RFC 9449: how old a DPoP proof's `iat` may be.
    pub(crate) dpop_proof_max_age: Duration,
    /// RFC 9449 §8: the key of server-issued DPoP nonces (`None`: off).
    pub(crate) dpop_nonce_key: Option<Arc<[u8]>>,
    /// How long an issued DPoP nonce is accepted.
    pub(crate) dpop_nonce_lifetime: Duration,
    /// The app's public origin: the base of DPoP proofs' `htu`.
    pub(crate) public_origin: Option<String>,
    /// RFC 9728 §5.1: the protected resource metadata URL named in challenges.
    pub(crate) resource_metadata: Option<String>,
}

impl VerifierConfig {
    /// The configured issuer, exactly as given.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The accepted audiences (client ids).
    pub fn audiences(&self) -> &[String] {
        &self.audiences
    }

    /// The leeway applied to every time comparison.
    pub fn leeway(&self) -> Duration {
        self.leeway
    }

    /// The clock.
    pub fn clock(&self) -> &SharedClock {
        &self.clock
    }

    /// The verifier-wide policy for users who cannot re-authenticate.
    pub fn when_cannot_reauthenticate_policy(&self) -> ReauthPolicy {
        self.when_cannot_reauthenticate
    }

    /// The kind of token accepted.
    pub fn kind(&self) -> crate::jwt::token_kind::TokenKind {
        self.token_kind
    }

    /// The absolute session lifetime, if configured.
    pub fn max_session_age_value(&self) -> Option<Duration> {
        self.max_session_age
    }

    /// How long revocation entries are kept: the session lifetime when set,
    /// else the retention, plus the leeway.
    pub(crate) fn revocation_keep(&self) -> Duration {
        self.max_session_age
            .unwrap_or(self.revocation_retention)
            .saturating_add(self.leeway)
    }

    /// The URL of the discovery document (OIDC Discovery §4: the issuer with
    /// any trailing `/` removed, then `/.well-known/openid-configuration`).
    pub fn discovery_url(&self) -> String {
        if let Some(url) = &self.metadata_url {
            return url.clone();
        }
        format!(
            "{}/.well-known/openid-configuration",
            self.issuer.trim_end_matches('/')
        )
    }
}
