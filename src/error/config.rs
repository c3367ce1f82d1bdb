//! The configuration is wrong, or building a verifier failed: before any
//! request.

use crate::error::store::StoreError;

/// A fetch from the issuer failed. Cloneable so one failure can be handed to
/// every caller that waited on the same fetch.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what} from {url}: {reason}")]
pub struct FetchError {
    /// What was being fetched (`discovery document` or `JWKS`).
    pub what: &'static str,
    /// The URL.
    pub url: String,
    /// Why it failed.
    pub reason: String,
}

/// The configuration cannot work. Code `config_error`.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// A URL did not parse.
    #[error("{what} is not a valid URL: {url}")]
    InvalidUrl {
        /// Which URL.
        what: &'static str,
        /// The value given.
        url: String,
    },
    /// A URL is plain http on a non-loopback host.
    #[error("{what} must use https (plain http is allowed only for loopback hosts): {url}")]
    InsecureUrl {
        /// Which URL.
        what: &'static str,
        /// The value given.
        url: String,
    },
    /// The issuer has a query or fragment (OIDC Discovery §2 forbids them).
    #[error("issuer must not contain a query or fragment: {0}")]
    IssuerShape(String),
    /// An issuer set or tenant template that cannot work as written: a
    /// template without exactly one `{tenant}`, an allow-listed tenant the
    /// template can never match, an issuer listed twice, an empty set.
    #[error("{0}")]
    IssuerSet(String),
    /// No audience was configured.
    #[error("at least one audience (client id) is required")]
    NoAudience,
    /// An algorithm that ID tokens must never use, or that we do not support.
    #[error(
        "algorithm {0} is not allowed for ID tokens (allowed: RS256/384/512, PS256/384/512, ES256/384, EdDSA or Ed25519)"
    )]
    UnsupportedAlgorithm(String),
    /// The allow-list ended up empty.
    #[error("no usable signing algorithm: {0}")]
    NoAlgorithms(String),
    /// A limit or duration is out of range.
    #[error("invalid setting {name}: {reason}")]
    InvalidSetting {
        /// The setting.
        name: &'static str,
        /// Why.
        reason: String,
    },
    /// The HTTP client could not be built.
    #[error("HTTP client: {0}")]
    HttpClient(String),
}

impl ConfigError {
    /// Always `config_error`.
    pub fn code(&self) -> &'static str {
        "config_error"
    }
}

/// Building a [`Verifier`](crate::Verifier) failed.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InitError {
    /// The configuration is wrong (`config_error`).
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The discovery document could not be fetched or parsed (`discovery_failed`).
    #[error("discovery failed: {0}")]
    Discovery(#[source] FetchError),
    /// The revocation store refused to register this verifier's retention
    /// (`revocation_unavailable`).
    #[error("revocation store: {0}")]
    Revocation(#[source] StoreError),
    /// The discovery document names another issuer (OIDC Discovery §4.3;
    /// `discovery_failed`).
    #[error(
        "discovery document issuer {found:?} does not equal the configured issuer {expected:?}"
    )]
    IssuerMismatch {
        /// The configured issuer.
        expected: String,
        /// The document's `issuer`.
        found: String,
    },
}

impl InitError {
    /// `config_error`, `discovery_failed` or `revocation_unavailable`.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Config(_) => "config_error",
            Self::Discovery(_) | Self::IssuerMismatch { .. } => "discovery_failed",
            Self::Revocation(_) => "revocation_unavailable",
        }
    }
}
