//! Why a guarded request was refused, and what that means in HTTP.

use crate::error::VerifyError;
use crate::error::challenge::BearerChallenge;

/// `Retry-After` on every 503 the adapters and `reauth serve` answer, in
/// seconds: about the JWKS refresh back-off and the revocation store's
/// reconnect, short enough that a recovered service is used again soon.
pub const RETRY_AFTER_SECS: u64 = 5;

/// Why a guarded request was refused, whatever the framework.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum GuardError {
    /// No token was sent: 401 with a bare `WWW-Authenticate: Bearer`
    /// (RFC 6750 §3.1: no error code), code `missing_token`.
    #[error("no ID token was sent")]
    MissingToken,
    /// The token was rejected, or keys were unavailable.
    #[error(transparent)]
    Verify(#[from] VerifyError),
    /// The application has no [`Verifier`](crate::Verifier) registered: 500,
    /// code `server_error` (a deployment bug, logged at error level).
    #[error("no reauth::Verifier is registered with the application")]
    NotConfigured,
    /// The route is wired in a way that would not enforce what it seems to
    /// (no [`Requirement`](crate::Requirement) reached a `Reauthenticated` route, or two
    /// disagreeing ones did): 500, code `server_error`, never a pass. The
    /// text names the fix; it is logged at error level, not sent.
    #[error("reauth is misconfigured: {0}")]
    Misconfigured(&'static str),
    /// A state-changing request from another site (or a sibling
    /// subdomain) carried the browser session cookie: 403, code
    /// `cross_site_request` (CSRF; see `StepUp::cross_site`).
    #[error("a cross-site request may not use the browser session")]
    CrossSiteRequest,
}

impl GuardError {
    /// `missing_token`, `server_error`, or the [`VerifyError`] code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::MissingToken => "missing_token",
            Self::Verify(e) => e.code(),
            Self::NotConfigured | Self::Misconfigured(_) => "server_error",
            Self::CrossSiteRequest => "cross_site_request",
        }
    }

    /// 401, 403, 500 or 503.
    pub fn status(&self) -> u16 {
        match self {
            Self::MissingToken => 401,
            Self::Verify(e) => e.status(),
            Self::NotConfigured | Self::Misconfigured(_) => 500,
            Self::CrossSiteRequest => 403,
        }
    }

    /// The message for the response body. Never contains the token.
    pub fn message(&self) -> String {
        match self {
            Self::MissingToken => "an ID token is required (Authorization: Bearer)".to_owned(),
            Self::Verify(e) => e.message(),
            Self::NotConfigured | Self::Misconfigured(_) => {
                "the server is misconfigured".to_owned()
            }
            Self::CrossSiteRequest => {
                "a request from another site may not use the browser session".to_owned()
            }
        }
    }

    /// The `WWW-Authenticate` value, when the status calls for one.
    pub fn www_authenticate(&self) -> Option<String> {
        match self {
            Self::MissingToken => Some(BearerChallenge::no_token().render()),
            Self::Verify(e) => e.www_authenticate(),
            Self::NotConfigured | Self::Misconfigured(_) | Self::CrossSiteRequest => None,
        }
    }

    /// The `DPoP-Nonce` to send (RFC 9449 §8), when the refusal carries one.
    pub fn dpop_nonce(&self) -> Option<&str> {
        match self {
            Self::Verify(e) => e.rejection().and_then(|r| r.dpop_nonce()),
            _ => None,
        }
    }

    /// The `Retry-After` seconds of a 503 ([`RETRY_AFTER_SECS`]): keys or
    /// revocation state are expected back soon, and a client or proxy that
    /// retries must not hammer the issuer or Redis.
    pub fn retry_after(&self) -> Option<u64> {
        (self.status() == 503).then_some(RETRY_AFTER_SECS)
    }

    /// `{"error": "<code>", "message": "..."}`.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({ "error": self.code(), "message": self.message() })
    }

    /// Logs what deserves a log line: a missing verifier at error level
    /// (rejections and unavailability are logged by the verifier).
    pub(crate) fn log(&self) {
        match self {
            Self::NotConfigured => tracing::error!(
                "reauth: no Verifier registered with the application; add it as app data / state"
            ),
            Self::Misconfigured(fix) => tracing::error!("reauth: {fix}"),
            _ => {}
        }
    }
}
