//! A token rejected: the token's fault, with its stable code, its status
//! and its RFC 6750 / RFC 9470 challenge.

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
    /// The DPoP proof is missing, malformed, replayed, or does not match
    /// the request or the token (RFC 9449 §7.1 `invalid_dpop_proof`); or a
    /// bound token came as `Bearer`, an unbound one as `DPoP`, or a route
    /// that requires DPoP got a bearer token.
    InvalidDpopProof,
    /// The server demands a fresh DPoP nonce: retry with the one in the
    /// `DPoP-Nonce` header (RFC 9449 §8 `use_dpop_nonce`).
    UseDpopNonce,
}

impl RejectionKind {
    /// Every kind, for exhaustive tests and documentation.
    pub const ALL: [RejectionKind; 18] = [
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
        Self::InvalidDpopProof,
        Self::UseDpopNonce,
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
            Self::InvalidDpopProof => "invalid_dpop_proof",
            Self::UseDpopNonce => "use_dpop_nonce",
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
    /// Rare extras, boxed so every `Result` carrying a rejection stays small.
    extra: Option<Box<Extra>>,
}

/// What only some challenges carry.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Extra {
    dpop: Option<DpopChallenge>,
    resource_metadata: Option<String>,
}

/// How a refusal of a request that came with DPoP (or needed it) is
/// challenged: RFC 9449 §7.1 `WWW-Authenticate: DPoP ... algs="..."`, and
/// a fresh `DPoP-Nonce` when the server demands nonces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DpopChallenge {
    pub algs: String,
    pub nonce: Option<String>,
}

impl Rejection {
    pub(crate) fn new(kind: RejectionKind, message: impl Into<Cow<'static, str>>) -> Self {
        Self {
            kind,
            message: message.into(),
            max_age: None,
            acr_values: Vec::new(),
            scope: Vec::new(),
            extra: None,
        }
    }

    fn extra_mut(&mut self) -> &mut Extra {
        self.extra.get_or_insert_with(Box::default)
    }

    /// Challenges in the DPoP scheme (RFC 9449 §7.1, RFC 9470 §3 with
    /// DPoP), naming the accepted proof algorithms, with a nonce to send.
    pub(crate) fn in_dpop_scheme(mut self, algs: String, nonce: Option<String>) -> Self {
        self.extra_mut().dpop = Some(DpopChallenge { algs, nonce });
        self
    }

    /// Attaches the RFC 9728 §5.1 `resource_metadata` URL to the challenge.
    pub(crate) fn with_resource_metadata(mut self, url: Option<String>) -> Self {
        if url.is_some() {
            self.extra_mut().resource_metadata = url;
        }
        self
    }

    /// The `DPoP-Nonce` to send with this refusal (RFC 9449 §8), if any.
    pub fn dpop_nonce(&self) -> Option<&str> {
        self.extra
            .as_ref()
            .and_then(|e| e.dpop.as_ref())
            .and_then(|d| d.nonce.as_deref())
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
        let extra = self.extra.as_deref();
        let dpop_algs = extra.and_then(|e| e.dpop.as_ref()).map(|d| d.algs.clone());
        let resource_metadata = extra.and_then(|e| e.resource_metadata.clone());
        if self.kind == RejectionKind::InsufficientScope {
            return Some(BearerChallenge {
                error: Some("insufficient_scope"),
                error_description: Some(self.message.to_string()),
                scope: self.scope.clone(),
                dpop_algs,
                resource_metadata,
                ..Default::default()
            });
        }
        let error = match self.kind {
            // RFC 9449 §7.1 and §8: the proof's own error codes.
            RejectionKind::InvalidDpopProof => "invalid_dpop_proof",
            RejectionKind::UseDpopNonce => "use_dpop_nonce",
            _ if self.needs_reauthentication() => "insufficient_user_authentication",
            _ => "invalid_token",
        };
        Some(BearerChallenge {
            error: Some(error),
            error_description: Some(self.message.to_string()),
            max_age: self.max_age,
            acr_values: self.acr_values.clone(),
            dpop_algs,
            resource_metadata,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::config::FetchError;
    use crate::error::verify::VerifyError;

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
                "invalid_dpop_proof",
                "use_dpop_nonce",
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
