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
    /// The gate's session cookie (a browser signed in through `/reauth/`).
    Session(String),
    /// Neither.
    None,
}

impl Credential {
    /// The token, if any.
    pub fn token(&self) -> Option<&str> {
        match self {
            Self::Bearer(t) | Self::Session(t) => Some(t),
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
        Some(
            std::str::from_utf8(value)
                .ok()
                .and_then(|v| TokenSource::AuthorizationBearer.extract(|_| Some(v)))
                .map(|t| Self::Bearer(t.to_owned()))
                .ok_or(GuardError::MissingToken),
        )
    }
}
