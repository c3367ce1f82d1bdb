//! One token could not be accepted: rejected, or not decidable now.

use crate::error::config::FetchError;
use crate::error::rejection::Rejection;
use crate::error::store::StoreError;

/// Verifying one token failed.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// The token is not acceptable (401, or 403 for `reauthentication_unavailable`).
    #[error(transparent)]
    Rejected(#[from] Rejection),
    /// No usable keys: the issuer could not be reached and no good keys were
    /// cached, or they are stale beyond the configured bound (503,
    /// `keys_unavailable`). The token was *not* judged.
    #[error("signing keys unavailable: {0}")]
    KeysUnavailable(#[source] FetchError),
    /// The revocation store could not vouch for the token (e.g. Redis
    /// unreachable beyond the configured bound): 503, `revocation_unavailable`.
    /// Fail closed: the token was *not* accepted.
    #[error(transparent)]
    RevocationUnavailable(#[from] StoreError),
}

impl VerifyError {
    /// The stable code: a [`RejectionKind`](crate::RejectionKind) code (the token's fault), or
    /// `keys_unavailable` / `revocation_unavailable` (could not decide).
    pub fn code(&self) -> &'static str {
        match self {
            Self::Rejected(r) => r.code(),
            Self::KeysUnavailable(_) => "keys_unavailable",
            Self::RevocationUnavailable(_) => "revocation_unavailable",
        }
    }

    /// The rejection, if the token was judged.
    pub fn rejection(&self) -> Option<&Rejection> {
        match self {
            Self::Rejected(r) => Some(r),
            _ => None,
        }
    }

    /// HTTP status: 401 / 403 for rejections; 503 when the keys
    /// (`keys_unavailable`) or the revocation state (`revocation_unavailable`)
    /// are unavailable, so the client may retry.
    pub fn status(&self) -> u16 {
        match self {
            Self::Rejected(r) => r.status(),
            Self::KeysUnavailable(_) | Self::RevocationUnavailable(_) => 503,
        }
    }

    /// A human-readable message, safe to return to clients.
    pub fn message(&self) -> String {
        match self {
            Self::Rejected(r) => r.message().to_owned(),
            Self::KeysUnavailable(_) => {
                "the issuer's signing keys are unavailable; try again later".to_owned()
            }
            Self::RevocationUnavailable(_) => {
                "the revocation state is unavailable; try again later".to_owned()
            }
        }
    }

    /// The `WWW-Authenticate` value to send, if any.
    pub fn www_authenticate(&self) -> Option<String> {
        self.rejection().and_then(Rejection::www_authenticate)
    }

    /// `{"error": "<code>", "message": "..."}`.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({ "error": self.code(), "message": self.message() })
    }
}
