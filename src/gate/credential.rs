//! Where a gate request's token came from: it decides which checks apply
//! (a cookie session needs a same-origin proof for a state change; only a
//! browser session is sent to log in).

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
