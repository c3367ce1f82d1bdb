//! A revocation or a back-channel logout could not be done.

use crate::error::config::FetchError;
use crate::error::rejection::{Rejection, RejectionKind};
use crate::error::store::{IdError, StoreError};
use crate::error::verify::VerifyError;

/// A revocation could not be written.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RevokeError {
    /// A "log out all devices" cut-off later than now (plus the leeway)
    /// would revoke logins that have not happened yet, locking the user
    /// out until then: refused (`invalid_request`, 400).
    #[error(
        "cut-off {cutoff} is in the future (now {now}): it would revoke logins that have not happened yet"
    )]
    CutoffInFuture {
        /// The cut-off asked for.
        cutoff: i64,
        /// The verifier's "now".
        now: i64,
    },
    /// The `sub` or `sid` breaks the id rule
    /// ([`check_id`](crate::revocation::check_id)): nothing was written
    /// (`invalid_request`, 400).
    #[error("cannot revoke {what}: {source}")]
    InvalidId {
        /// `sub` or `sid`.
        what: &'static str,
        /// What is wrong with it.
        #[source]
        source: IdError,
    },
    /// The store could not be written (`revocation_unavailable`, 503: retry).
    #[error(transparent)]
    Unavailable(#[from] StoreError),
}

impl RevokeError {
    /// `invalid_request` or `revocation_unavailable`.
    pub fn code(&self) -> &'static str {
        match self {
            Self::CutoffInFuture { .. } | Self::InvalidId { .. } => "invalid_request",
            Self::Unavailable(_) => "revocation_unavailable",
        }
    }

    /// 400 or 503.
    pub fn status(&self) -> u16 {
        match self {
            Self::CutoffInFuture { .. } | Self::InvalidId { .. } => 400,
            Self::Unavailable(_) => 503,
        }
    }
}

/// A back-channel logout request failed (Back-Channel Logout 1.0 §2.8).
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LogoutError {
    /// The logout token is invalid: 400.
    #[error(transparent)]
    Rejected(#[from] Rejection),
    /// Keys could not be loaded: 503 (the issuer may retry).
    #[error("signing keys unavailable: {0}")]
    KeysUnavailable(#[source] FetchError),
    /// The revocation could not be recorded: 503 (the issuer may retry).
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<RevokeError> for LogoutError {
    fn from(e: RevokeError) -> Self {
        match e {
            RevokeError::Unavailable(s) => Self::Store(s),
            // The logout token named an id no store can hold, or (never,
            // as the cut-off is min(iat, now)) a future cut-off: the token
            // is at fault, 400, never a 503 the issuer would retry.
            other @ (RevokeError::InvalidId { .. } | RevokeError::CutoffInFuture { .. }) => {
                Self::Rejected(Rejection::new(
                    RejectionKind::InvalidClaim,
                    other.to_string(),
                ))
            }
        }
    }
}

impl From<VerifyError> for LogoutError {
    fn from(e: VerifyError) -> Self {
        match e {
            VerifyError::Rejected(r) => Self::Rejected(r),
            VerifyError::KeysUnavailable(f) => Self::KeysUnavailable(f),
            VerifyError::RevocationUnavailable(s) => Self::Store(s),
        }
    }
}

impl LogoutError {
    /// The rejection code, `keys_unavailable` or `revocation_unavailable`.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Rejected(r) => r.code(),
            Self::KeysUnavailable(_) => "keys_unavailable",
            Self::Store(_) => "revocation_unavailable",
        }
    }

    /// 400 for an invalid logout token, 503 when we could not act.
    pub fn status(&self) -> u16 {
        match self {
            Self::Rejected(_) => 400,
            _ => 503,
        }
    }

    /// `{"error": "invalid_request", "error_description": "..."}` for 400
    /// (§2.8), `{"error": "<code>", ...}` otherwise.
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Self::Rejected(r) => serde_json::json!({
                "error": "invalid_request",
                "error_description": format!("{}: {}", r.code(), r.message()),
            }),
            other => serde_json::json!({ "error": other.code(), "message": other.to_string() }),
        }
    }
}
