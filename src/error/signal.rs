//! A Security Event Token refused or not decided: its RFC 8935 §2.4 /
//! RFC 8936 §2.4.4 `err` code, and what the HTTP answer is.

use std::borrow::Cow;
use std::fmt;

use crate::error::config::FetchError;
use crate::error::rejection::RejectionKind;
use crate::error::revoke::RevokeError;
use crate::error::store::StoreError;
use crate::error::verify::VerifyError;

/// The RFC 8935 §2.4 error codes (the IANA "Security Event Token Error
/// Codes" registry) a receiver answers with.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SetErrorCode {
    /// The request or the SET is malformed (not a SET, `typ` missing, two
    /// events, a `sub` claim, a subject we cannot act on, a replay...).
    InvalidRequest,
    /// The SET's key is unknown or unacceptable, or its signature does not verify.
    InvalidKey,
    /// `iss` is not the configured transmitter.
    InvalidIssuer,
    /// `aud` does not name this receiver.
    InvalidAudience,
    /// The push request's credentials are missing (401).
    AuthenticationFailed,
    /// The push request's credentials are not the receiver's (403).
    AccessDenied,
}

impl SetErrorCode {
    /// The registered code, as sent in `err`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidRequest => "invalid_request",
            Self::InvalidKey => "invalid_key",
            Self::InvalidIssuer => "invalid_issuer",
            Self::InvalidAudience => "invalid_audience",
            Self::AuthenticationFailed => "authentication_failed",
            Self::AccessDenied => "access_denied",
        }
    }

    /// The HTTP status of a push answer with this code (RFC 8935 §2.3, §2.4).
    pub fn status(self) -> u16 {
        match self {
            Self::AuthenticationFailed => 401,
            Self::AccessDenied => 403,
            _ => 400,
        }
    }
}

/// Why a SET was not applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SetError {
    /// The SET (or its delivery) is refused: the transmitter should not send
    /// it again as it is.
    #[error("{}: {description}", code.as_str())]
    Refused {
        /// The RFC 8935 code.
        code: SetErrorCode,
        /// What is wrong, for the transmitter's logs.
        description: Cow<'static, str>,
    },
    /// Nothing was decided (the transmitter's keys or the revocation store
    /// cannot be reached): 503, the transmitter retries; a poller leaves
    /// the SET unacknowledged.
    #[error("{0}")]
    Unavailable(String),
}

impl SetError {
    pub(crate) fn refused(code: SetErrorCode, description: impl Into<Cow<'static, str>>) -> Self {
        Self::Refused {
            code,
            description: description.into(),
        }
    }

    pub(crate) fn invalid(description: impl Into<Cow<'static, str>>) -> Self {
        Self::refused(SetErrorCode::InvalidRequest, description)
    }

    /// The `err` code, or `None` when nothing was decided.
    pub fn code(&self) -> Option<SetErrorCode> {
        match self {
            Self::Refused { code, .. } => Some(*code),
            Self::Unavailable(_) => None,
        }
    }

    /// The HTTP status of the push answer: 400, 401 or 403 for a refusal,
    /// 503 when nothing was decided.
    pub fn status(&self) -> u16 {
        self.code().map_or(503, SetErrorCode::status)
    }

    /// The description sent with the code.
    pub fn description(&self) -> &str {
        match self {
            Self::Refused { description, .. } => description,
            Self::Unavailable(why) => why,
        }
    }

    /// The answer's JSON body (RFC 8935 §2.4): `{"err": ..., "description": ...}`
    /// (`err` is `temporarily_unavailable` when nothing was decided, a code
    /// outside the registry the transmitter treats as a retry).
    pub fn body(&self) -> serde_json::Value {
        serde_json::json!({
            "err": self.code().map_or("temporarily_unavailable", SetErrorCode::as_str),
            "description": self.description(),
        })
    }
}

impl From<VerifyError> for SetError {
    /// The signature check's verdicts as RFC 8935 codes: a key or
    /// signature problem is `invalid_key`; anything else about the token is
    /// `invalid_request`; keys that cannot be fetched decide nothing.
    fn from(e: VerifyError) -> Self {
        match e {
            VerifyError::Rejected(r) => {
                let code = match r.kind() {
                    RejectionKind::UnknownKey
                    | RejectionKind::InvalidSignature
                    | RejectionKind::UnsupportedAlgorithm => SetErrorCode::InvalidKey,
                    RejectionKind::InvalidIssuer => SetErrorCode::InvalidIssuer,
                    RejectionKind::InvalidAudience => SetErrorCode::InvalidAudience,
                    _ => SetErrorCode::InvalidRequest,
                };
                Self::refused(code, r.to_string())
            }
            VerifyError::KeysUnavailable(f) => Self::Unavailable(unavailable_keys(&f)),
            VerifyError::RevocationUnavailable(s) => Self::Unavailable(s.to_string()),
        }
    }
}

fn unavailable_keys(f: &FetchError) -> String {
    format!("the transmitter's keys are unavailable: {f}")
}

impl From<StoreError> for SetError {
    fn from(e: StoreError) -> Self {
        Self::Unavailable(format!("the revocation store failed: {e}"))
    }
}

impl From<RevokeError> for SetError {
    fn from(e: RevokeError) -> Self {
        match e {
            RevokeError::Unavailable(s) => s.into(),
            other => Self::invalid(other.to_string()),
        }
    }
}

impl fmt::Display for SetErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
