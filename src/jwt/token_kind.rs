//! Which kind of token a verifier accepts: OpenID Connect ID tokens (the
//! default) or RFC 9068 JWT access tokens. One verifier, one kind: a token
//! of the other kind is `invalid_token_type` (RFC 8725 §3.11 explicit
//! typing), both ways.

/// The kind of JWT a [`Verifier`](crate::Verifier) accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TokenKind {
    /// OpenID Connect ID tokens (OIDC Core §2, checked per §3.1.3.7): `typ`
    /// absent or `JWT`; the audiences are client ids. The default.
    #[default]
    IdToken,
    /// RFC 9068 JWT access tokens: `typ` must be `at+jwt` or
    /// `application/at+jwt` (§4); the audiences are resource identifiers
    /// (`aud` must contain one); `client_id` and `jti` are required (§2.2);
    /// `scope` is read ([`Requirement::require_scopes`](crate::Requirement::require_scopes));
    /// `auth_time`, `acr` and `amr` (§2.2.1) get the same freshness and
    /// step-up rules and challenges as ID tokens (RFC 9470 §6).
    AccessToken,
}

impl TokenKind {
    /// `id` or `access`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::IdToken => "id",
            Self::AccessToken => "access",
        }
    }
}
