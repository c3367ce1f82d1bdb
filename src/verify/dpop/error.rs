//! Why one DPoP proof was refused: two kinds, each with its RFC 9449 error
//! code (§7.1 `invalid_dpop_proof`, §9 `use_dpop_nonce`), and a detail for
//! logs (attacker text in it is truncated).

use std::borrow::Cow;

/// The two answers RFC 9449 gives a protected resource about a proof.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum DpopErrorKind {
    /// The proof is missing, malformed, badly signed or does not fit the
    /// request (RFC 9449 §7.1: `invalid_dpop_proof`).
    InvalidProof,
    /// The proof lacks the server's current nonce or carries another one
    /// (RFC 9449 §9: `use_dpop_nonce`); the caller answers with a fresh
    /// `DPoP-Nonce` header so the client can retry.
    UseNonce,
}

impl DpopErrorKind {
    /// The rejection this is (its code, status and challenge live there,
    /// once): `invalid_dpop_proof` or `use_dpop_nonce`, both 401.
    pub(crate) fn rejection_kind(self) -> crate::error::RejectionKind {
        match self {
            DpopErrorKind::InvalidProof => crate::error::RejectionKind::InvalidDpopProof,
            DpopErrorKind::UseNonce => crate::error::RejectionKind::UseDpopNonce,
        }
    }
}

/// A refused DPoP proof.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{detail}")]
pub(crate) struct DpopError {
    pub(crate) kind: DpopErrorKind,
    pub(crate) detail: Cow<'static, str>,
}

impl DpopError {
    pub(crate) fn invalid(detail: impl Into<Cow<'static, str>>) -> Self {
        Self {
            kind: DpopErrorKind::InvalidProof,
            detail: detail.into(),
        }
    }

    pub(crate) fn use_nonce(detail: impl Into<Cow<'static, str>>) -> Self {
        Self {
            kind: DpopErrorKind::UseNonce,
            detail: detail.into(),
        }
    }

    /// The RFC 9449 error code: `invalid_dpop_proof` or `use_dpop_nonce`.
    #[cfg(test)]
    pub(crate) fn code(&self) -> &'static str {
        self.kind.rejection_kind().as_str()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_display() {
        let e = DpopError::invalid("htm does not match");
        assert_eq!(e.code(), "invalid_dpop_proof");
        assert_eq!(e.to_string(), "htm does not match");
        let n = DpopError::use_nonce("nonce is missing");
        assert_eq!(n.code(), "use_dpop_nonce");
    }
}
