//! Typed errors. Each knows its stable machine code, its HTTP status and its
//! `WWW-Authenticate` challenge; framework adapters only translate.
//!
//! Three phases, three types:
//! - [`ConfigError`]: the configuration is wrong (before any request);
//! - [`InitError`]: building a [`Verifier`](crate::Verifier) failed (bad config,
//!   discovery failed or named another issuer);
//! - [`VerifyError`]: one token was rejected ([`Rejection`], the token's fault)
//!   or could not be decided (keys unavailable: never a rejection).

pub(crate) mod challenge;

use std::borrow::Cow;
use std::fmt;

use crate::error::challenge::BearerChallenge;

/// Why a token was rejected. [`as_str`](Self::as_str) is the stable code.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RejectionKind {
    /// Not a compact JWS of three base64url parts with JSON header and
    /// payload, over the size cap, or carrying a `crit` header.
    MalformedToken,
    /// `alg` is not on the allow-list (`none` and `HS*` never are), or the
    /// key named by `kid` is bound to another algorithm.
    UnsupportedAlgorithm,
    /// No usable key in the issuer's JWKS matches the token's `kid`.
    UnknownKey,
    /// The signature does not verify.
    InvalidSignature,
    /// `typ` says this is not an ID token (e.g. `at+jwt`, `logout+jwt`).
    InvalidTokenType,
    /// `exp` has passed.
    Expired,
    /// `nbf` (or `iat`) is in the future.
    NotYetValid,
    /// `iss` is not exactly the configured issuer.
    InvalidIssuer,
    /// `aud` lists none of the accepted audiences (or `azp` is foreign).
    InvalidAudience,
    /// A required claim is absent (`sub`, `exp`, `iat`, or `auth_time` under a `max_age`).
    MissingClaim,
    /// A claim has the wrong type or an impossible value.
    InvalidClaim,
    /// `auth_time` is older than the route's `max_age` (or the session limit).
    AuthenticationTooOld,
    /// `acr` / `amr` do not meet the route's step-up requirement.
    InsufficientAuthentication,
    /// The user cannot re-authenticate and the policy is `Deny`.
    ReauthenticationUnavailable,
    /// The session or the user's tokens were revoked.
    Revoked,
    /// The access token's `scope` lacks one the route requires (403, RFC 6750 §3.1).
    InsufficientScope,
}

impl RejectionKind {
    /// Every kind, for exhaustive tests and documentation.
    pub const ALL: [RejectionKind; 16] = [
        Self::MalformedToken,
        Self::UnsupportedAlgorithm,
        Self::UnknownKey,
        Self::InvalidSignature,
        Self::InvalidTokenType,
        Self::Expired,
        Self::NotYetValid,
        Self::InvalidIssuer,
        Self::InvalidAudience,
        Self::MissingClaim,
        Self::InvalidClaim,
        Self::AuthenticationTooOld,
        Self::InsufficientAuthentication,
        Self::ReauthenticationUnavailable,
        Self::Revoked,
        Self::InsufficientScope,
    ];

    /// The stable machine code, e.g. `authentication_too_old`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::MalformedToken => "malformed_token",
            Self::UnsupportedAlgorithm => "unsupported_algorithm",
            Self::UnknownKey => "unknown_key",
            Self::InvalidSignature => "invalid_signature",
            Self::InvalidTokenType => "invalid_token_type",
            Self::Expired => "expired",
            Self::NotYetValid => "not_yet_valid",
            Self::InvalidIssuer => "invalid_issuer",
            Self::InvalidAudience => "invalid_audience",
            Self::MissingClaim => "missing_claim",
            Self::InvalidClaim => "invalid_claim",
            Self::AuthenticationTooOld => "authentication_too_old",
            Self::InsufficientAuthentication => "insufficient_authentication",
            Self::ReauthenticationUnavailable => "reauthentication_unavailable",
            Self::Revoked => "revoked",
            Self::InsufficientScope => "insufficient_scope",
        }
    }

    /// 403 for `reauthentication_unavailable` and `insufficient_scope`
    /// (re-authenticating cannot help), 401 for everything else.
    pub const fn status(self) -> u16 {
        match self {
            Self::ReauthenticationUnavailable | Self::InsufficientScope => 403,
            _ => 401,
        }
    }
}

impl fmt::Display for RejectionKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A token was rejected: its fault, not ours.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    kind: RejectionKind,
    message: Cow<'static, str>,
    max_age: Option<u64>,
    acr_values: Vec<String>,
    scope: Vec<String>,
}

impl Rejection {
    pub(crate) fn new(kind: RejectionKind, message: impl Into<Cow<'static, str>>) -> Self {
        Self {
            kind,
            message: message.into(),
            max_age: None,
            acr_values: Vec::new(),
            scope: Vec::new(),
        }
    }

    /// Attaches the RFC 6750 `scope` the request needs.
    pub(crate) fn with_scope(mut self, scope: Vec<String>) -> Self {
        self.scope = scope;
        self
    }

    /// The scopes the route needs, for `insufficient_scope`.
    pub fn scope(&self) -> &[String] {
        &self.scope
    }

    /// Attaches the RFC 9470 `max_age` the client must satisfy.
    pub(crate) fn with_max_age(mut self, max_age: u64) -> Self {
        self.max_age = Some(max_age);
        self
    }

    /// Attaches the RFC 9470 `acr_values` the client must satisfy.
    pub(crate) fn with_acr_values(mut self, acr_values: Vec<String>) -> Self {
        self.acr_values = acr_values;
        self
    }

    /// What went wrong.
    pub fn kind(&self) -> RejectionKind {
        self.kind
    }

    /// The stable machine code (`kind().as_str()`).
    pub fn code(&self) -> &'static str {
        self.kind.as_str()
    }

    /// A human-readable explanation. Never contains the token.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The `max_age` (seconds) a fresh login must satisfy, when the rejection
    /// asks for one.
    pub fn max_age(&self) -> Option<u64> {
        self.max_age
    }

    /// The `acr_values` a new login must satisfy, when the rejection asks for a
    /// stronger authentication.
    pub fn acr_values(&self) -> &[String] {
        &self.acr_values
    }

    /// True when the client can fix this by re-authenticating (RFC 9470).
    pub fn needs_reauthentication(&self) -> bool {
        matches!(
            self.kind,
            RejectionKind::AuthenticationTooOld | RejectionKind::InsufficientAuthentication
        ) || (self.kind == RejectionKind::MissingClaim && self.max_age.is_some())
    }

    /// HTTP status: 401, or 403 for `reauthentication_unavailable`.
    pub fn status(&self) -> u16 {
        self.kind.status()
    }

    /// The challenge to send: RFC 9470 `insufficient_user_authentication` when
    /// a new login would help, RFC 6750 `invalid_token` otherwise. `None` for
    /// 403 (re-authenticating cannot help, so there is nothing to challenge).
    pub fn challenge(&self) -> Option<BearerChallenge> {
        if self.kind == RejectionKind::ReauthenticationUnavailable {
            return None;
        }
        // RFC 6750 §3.1: 403 with the scope the request needs.
        if self.kind == RejectionKind::InsufficientScope {
            return Some(BearerChallenge {
                error: Some("insufficient_scope"),
                error_description: Some(self.message.to_string()),
                scope: self.scope.clone(),
                ..Default::default()
            });
        }
        let error = if self.needs_reauthentication() {
            "insufficient_user_authentication"
        } else {
            "invalid_token"
        };
        Some(BearerChallenge {
            error: Some(error),
            error_description: Some(self.message.to_string()),
            max_age: self.max_age,
            acr_values: self.acr_values.clone(),
            ..Default::default()
        })
    }

    /// The rendered `WWW-Authenticate` value, see [`challenge`](Self::challenge).
    pub fn www_authenticate(&self) -> Option<String> {
        self.challenge().map(|c| c.render())
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind, self.message)
    }
}

impl std::error::Error for Rejection {}

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
    /// The stable code: a [`RejectionKind`] code (the token's fault), or
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_the_documented_strings() {
        let codes: Vec<_> = RejectionKind::ALL.iter().map(|k| k.as_str()).collect();
        assert_eq!(
            codes,
            [
                "malformed_token",
                "unsupported_algorithm",
                "unknown_key",
                "invalid_signature",
                "invalid_token_type",
                "expired",
                "not_yet_valid",
                "invalid_issuer",
                "invalid_audience",
                "missing_claim",
                "invalid_claim",
                "authentication_too_old",
                "insufficient_authentication",
                "reauthentication_unavailable",
                "revoked",
                "insufficient_scope",
            ]
        );
    }

    #[test]
    fn statuses() {
        for k in RejectionKind::ALL {
            let expected = if matches!(
                k,
                RejectionKind::ReauthenticationUnavailable | RejectionKind::InsufficientScope
            ) {
                403
            } else {
                401
            };
            assert_eq!(Rejection::new(k, "x").status(), expected, "{k}");
        }
        let e = VerifyError::KeysUnavailable(FetchError {
            what: "JWKS",
            url: "u".into(),
            reason: "r".into(),
        });
        assert_eq!(
            (e.status(), e.code(), e.www_authenticate()),
            (503, "keys_unavailable", None)
        );
    }

    #[test]
    fn too_old_renders_rfc9470() {
        let r = Rejection::new(
            RejectionKind::AuthenticationTooOld,
            "authenticated 3600 s ago",
        )
        .with_max_age(300);
        assert_eq!(
            r.www_authenticate().unwrap(),
            "Bearer error=\"insufficient_user_authentication\", error_description=\"authenticated 3600 s ago\", max_age=\"300\""
        );
        let missing = Rejection::new(RejectionKind::MissingClaim, "no auth_time").with_max_age(60);
        assert!(
            missing
                .www_authenticate()
                .unwrap()
                .contains("insufficient_user_authentication")
        );
        let plain = Rejection::new(RejectionKind::MissingClaim, "no sub");
        assert!(
            plain
                .www_authenticate()
                .unwrap()
                .starts_with("Bearer error=\"invalid_token\"")
        );
        assert_eq!(
            Rejection::new(RejectionKind::ReauthenticationUnavailable, "x").www_authenticate(),
            None
        );
    }
}

/// Why an id cannot be revoked (or read back from a shared store).
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    /// The id is empty.
    #[error("the id is empty")]
    Empty,
    /// The id is longer than [`MAX_ID_BYTES`](crate::revocation::MAX_ID_BYTES).
    #[error("the id is {len} bytes long; the limit is {max}")]
    TooLong {
        /// Its length in bytes.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The id holds a control character (CR, LF, TAB, NUL, DEL, C1...).
    #[error("the id holds a control character (U+{code:04X}) at byte {at}")]
    ControlCharacter {
        /// The character's code point.
        code: u32,
        /// Its byte offset.
        at: usize,
    },
}

/// The shared revocation state could not be consulted (or written).
/// Verification answers `revocation_unavailable` (503): fail closed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("revocation store unavailable: {0}")]
pub struct StoreError(pub String);
