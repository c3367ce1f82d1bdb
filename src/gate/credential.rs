//! Where a gate request's token came from: it decides which checks apply
//! (a cookie session needs a same-origin proof for a state change; only a
//! browser session is sent to log in).

use crate::guard::{GuardError, TokenSource};

use super::forward::ForwardRequest;

/// Where a gate request's token came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credential {
    /// `Authorization: Bearer` (an API client, or an app's own JavaScript).
    Bearer(String),
    /// `Authorization: DPoP` (RFC 9449 §7.1): the token and every `DPoP`
    /// header value that came with it.
    Dpop {
        /// The access token.
        token: String,
        /// Every `DPoP` header value, in order.
        proofs: Vec<String>,
    },
    /// The gate's session cookie (a browser signed in through `/reauth/`).
    Session(String),
    /// Neither.
    None,
}

impl Credential {
    /// The token, if any.
    pub fn token(&self) -> Option<&str> {
        match self {
            Self::Bearer(t) | Self::Session(t) | Self::Dpop { token: t, .. } => Some(t),
            Self::None => None,
        }
    }
}

impl Credential {
    /// The request's `Authorization`, when it carries one: its bearer
    /// token, or [`GuardError::MissingToken`] for anything else (`Basic`,
    /// bytes that are not text). A request with `Authorization` is a
    /// client that authenticates itself, never read as a cookie session.
    pub fn from_authorization(req: &ForwardRequest<'_>) -> Option<Result<Self, GuardError>> {
        let value = req.header("authorization")?;
        let text = std::str::from_utf8(value).ok();
        if let Some(token) = text.and_then(crate::guard::dpop_scheme) {
            let proofs = req
                .headers
                .iter()
                .filter(|(n, _)| n.eq_ignore_ascii_case("dpop"))
                .map(|(_, v)| String::from_utf8_lossy(v).into_owned())
                .collect();
            return Some(Ok(Self::Dpop {
                token: token.to_owned(),
                proofs,
            }));
        }
        Some(
            text.and_then(|v| TokenSource::AuthorizationBearer.extract(|_| Some(v)))
                .map(|t| Self::Bearer(t.to_owned()))
                .ok_or(GuardError::MissingToken),
        )
    }
}
