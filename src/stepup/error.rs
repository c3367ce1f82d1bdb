//! What can go wrong in a step-up round trip, each with its HTTP meaning.

use crate::error::VerifyError;

/// Why a pending step-up could not be matched to a callback.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum StateProblem {
    /// No pending step-up for this `state` (no cookie, or not in the store).
    Missing,
    /// The pending cookie does not decrypt or does not parse (tampered,
    /// or sealed with another key).
    Tampered,
    /// The pending state's `state` is not the callback's.
    Mismatch,
    /// The step-up began longer ago than the pending lifetime allows.
    Expired,
    /// This `state` was already used: a callback is good once.
    Replayed,
}

impl StateProblem {
    /// `missing`, `tampered`, `mismatch`, `expired` or `replayed`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Missing => "missing",
            Self::Tampered => "tampered",
            Self::Mismatch => "mismatch",
            Self::Expired => "expired",
            Self::Replayed => "replayed",
        }
    }
}

/// An `error=` the issuer sent back to the callback (RFC 6749 §4.1.2.1,
/// OIDC Core §3.1.2.6).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum AuthorizationErrorKind {
    /// `access_denied`: the user (or the issuer) declined.
    AccessDenied,
    /// `login_required`: the issuer could not log the user in.
    LoginRequired,
    /// `interaction_required`: the issuer needed an interaction it could not have.
    InteractionRequired,
    /// `consent_required`.
    ConsentRequired,
    /// `account_selection_required`.
    AccountSelectionRequired,
    /// `server_error` or `temporarily_unavailable`: try again later.
    Unavailable(String),
    /// Anything else (`invalid_request`, `invalid_scope`, ...): the issuer
    /// refused the request itself, usually a client configuration problem.
    Other(String),
}

impl AuthorizationErrorKind {
    pub(crate) fn from_code(code: &str) -> Self {
        match code {
            "access_denied" => Self::AccessDenied,
            "login_required" => Self::LoginRequired,
            "interaction_required" => Self::InteractionRequired,
            "consent_required" => Self::ConsentRequired,
            "account_selection_required" => Self::AccountSelectionRequired,
            "server_error" | "temporarily_unavailable" => Self::Unavailable(code.to_owned()),
            other => Self::Other(other.to_owned()),
        }
    }

    /// The issuer's error code, as sent: text from the issuer (RFC 6749
    /// printable ASCII, at most 64 bytes), which may hold `<`, `>`, `'` or
    /// `&`. Never write it into HTML unescaped; [`code`](Self::code) is the
    /// bounded form to show or to use as a label.
    pub fn as_str(&self) -> &str {
        match self {
            Self::AccessDenied => "access_denied",
            Self::LoginRequired => "login_required",
            Self::InteractionRequired => "interaction_required",
            Self::ConsentRequired => "consent_required",
            Self::AccountSelectionRequired => "account_selection_required",
            Self::Unavailable(c) | Self::Other(c) => c,
        }
    }

    /// The error code from a fixed vocabulary: the codes of RFC 6749
    /// §4.1.2.1 and OIDC Core §3.1.2.6 (and OpenID Connect's
    /// `unmet_authentication_requirements`) as themselves, anything else
    /// `authorization_failed`. What the callback answers with, so an issuer
    /// (or a planted callback) cannot choose the text of the page or of a
    /// metric label.
    pub fn code(&self) -> &'static str {
        KNOWN_CODES
            .iter()
            .find(|known| **known == self.as_str())
            .copied()
            .unwrap_or(UNKNOWN_CODE)
    }
}

/// What [`AuthorizationErrorKind::code`] answers for an error code outside
/// the known vocabulary.
const UNKNOWN_CODE: &str = "authorization_failed";

/// The authorization error codes the specifications define.
const KNOWN_CODES: &[&str] = &[
    // RFC 6749 §4.1.2.1.
    "invalid_request",
    "unauthorized_client",
    "access_denied",
    "unsupported_response_type",
    "invalid_scope",
    "server_error",
    "temporarily_unavailable",
    // OIDC Core §3.1.2.6.
    "interaction_required",
    "login_required",
    "account_selection_required",
    "consent_required",
    "invalid_request_uri",
    "invalid_request_object",
    "request_not_supported",
    "request_uri_not_supported",
    "registration_not_supported",
    // OpenID Connect Core Unmet Authentication Requirements 1.0.
    "unmet_authentication_requirements",
];

/// A step-up that did not complete. Every variant knows its status and a
/// stable code; the message never contains a token, a code or a secret.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum StepUpError {
    /// `return_to` is not a path of this app (400 `invalid_return_to`):
    /// never an open redirect.
    #[error("return_to must be a relative path of this app: {0}")]
    InvalidReturnTo(&'static str),
    /// The callback's query is malformed (400 `invalid_callback`).
    #[error("invalid callback: {0}")]
    InvalidCallback(String),
    /// No usable pending step-up matches the callback (400 `invalid_state`):
    /// forged, replayed, expired or tampered.
    #[error("the callback's state is {}: start again", .0.as_str())]
    InvalidState(StateProblem),
    /// The callback's `iss` is not our issuer (RFC 9207 §2.4: a mix-up
    /// attack), or an issuer that promises `iss` left it out (400
    /// `issuer_mismatch`).
    #[error("the callback's iss does not identify the issuer this step-up was sent to")]
    IssuerMismatch,
    /// The issuer answered `error=...` (access denied, login required...).
    /// 403 for the user's refusals, 503 for `server_error` /
    /// `temporarily_unavailable`, 502 for anything else.
    #[error("the issuer answered {}{}", .kind.as_str(), .description.as_deref().map(|d| format!(": {d}")).unwrap_or_default())]
    Authorization {
        /// The error.
        kind: AuthorizationErrorKind,
        /// `error_description`, if any (printable ASCII, at most 256 bytes).
        description: Option<String>,
    },
    /// The token endpoint refused the code (`invalid_grant`: a wrong PKCE
    /// verifier, a used or expired code: 400; anything else: 502), code
    /// `token_exchange_failed`.
    #[error("the token endpoint answered {error}{}", .description.as_deref().map(|d| format!(": {d}")).unwrap_or_default())]
    TokenEndpoint {
        /// The OAuth error code (RFC 6749 §5.2).
        error: String,
        /// `error_description`, if any.
        description: Option<String>,
    },
    /// The token endpoint could not be reached or answered something that
    /// is not a token response (503 `issuer_unavailable`, 502 for a bad
    /// response).
    #[error("token endpoint: {reason}")]
    TokenEndpointFailed {
        /// What happened.
        reason: String,
        /// Whether it may work later (timeouts, 5xx): 503 rather than 502.
        transient: bool,
    },
    /// The ID token from the token endpoint was refused by the verifier
    /// (signature, issuer, audience, expiry, the route's `max_age`, `acr`,
    /// `amr`...). 403 with the verifier's code, or 503 when keys are
    /// unavailable.
    #[error("the new ID token was refused: {0}")]
    IdToken(VerifyError),
    /// The ID token's `nonce` is not the one this step-up sent (OIDC Core
    /// §3.1.3.7 step 11): 400 `invalid_nonce`.
    #[error("the ID token's nonce is not the one sent")]
    NonceMismatch,
    /// Someone else logged in than the user who was stepping up: 403
    /// `subject_mismatch`; the old session is left as it was.
    #[error("a different user logged in than the one stepping up")]
    SubjectMismatch,
    /// The new ID token's `auth_time` is older than the moment the step-up
    /// began (minus the leeway): the issuer did not re-authenticate the user
    /// (403 `reauthentication_not_proven`).
    #[error(
        "the issuer did not re-authenticate the user (auth_time {auth_time:?} is before the step-up began at {began_at})"
    )]
    NotReauthenticated {
        /// The token's `auth_time`.
        auth_time: Option<i64>,
        /// When the step-up began.
        began_at: i64,
    },
    /// The new ID token is too large for a cookie (500
    /// `session_too_large`): a browser would drop it silently and loop
    /// through the issuer. Ask the issuer for fewer claims in ID tokens, or
    /// keep sessions server-side.
    #[error("the new ID token makes a {bytes}-byte cookie; browsers keep at most 4096 bytes")]
    SessionTooLarge {
        /// The cookie's size (name and value).
        bytes: usize,
    },
    /// The pending store failed (503 `pending_store_unavailable`).
    #[error("pending step-up store: {0}")]
    Store(String),
    /// The pending store holds as many step-ups as it may (its documented,
    /// configurable cap, e.g. `RedisPendingStore::max_pending`): a new one
    /// is refused rather than let a flood of anonymous requests grow the
    /// store without bound (503 `too_many_pending_step_ups`).
    #[error(
        "the pending step-up store already holds its maximum of {limit} step-ups begun in this window"
    )]
    TooManyPending {
        /// The cap.
        limit: usize,
    },
}

impl StepUpError {
    /// The HTTP status the callback (or the redirect) answers with.
    pub fn status(&self) -> u16 {
        match self {
            Self::InvalidReturnTo(_)
            | Self::InvalidCallback(_)
            | Self::InvalidState(_)
            | Self::IssuerMismatch
            | Self::NonceMismatch => 400,
            Self::Authorization { kind, .. } => match kind {
                AuthorizationErrorKind::Unavailable(_) => 503,
                AuthorizationErrorKind::Other(_) => 502,
                _ => 403,
            },
            Self::TokenEndpoint { error, .. } if error == "invalid_grant" => 400,
            Self::TokenEndpoint { .. } => 502,
            Self::TokenEndpointFailed { transient, .. } => {
                if *transient {
                    503
                } else {
                    502
                }
            }
            Self::IdToken(e) if e.status() == 503 => 503,
            Self::IdToken(_) | Self::SubjectMismatch | Self::NotReauthenticated { .. } => 403,
            Self::SessionTooLarge { .. } => 500,
            Self::Store(_) | Self::TooManyPending { .. } => 503,
        }
    }

    /// The stable machine code, from a fixed vocabulary (an issuer's
    /// unknown `error` is `authorization_failed`).
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidReturnTo(_) => "invalid_return_to",
            Self::InvalidCallback(_) => "invalid_callback",
            Self::InvalidState(_) => "invalid_state",
            Self::IssuerMismatch => "issuer_mismatch",
            Self::Authorization { kind, .. } => kind.code(),
            Self::TokenEndpoint { .. } => "token_exchange_failed",
            Self::TokenEndpointFailed {
                transient: true, ..
            } => "issuer_unavailable",
            Self::TokenEndpointFailed { .. } => "token_exchange_failed",
            Self::IdToken(e) => e.code(),
            Self::NonceMismatch => "invalid_nonce",
            Self::SubjectMismatch => "subject_mismatch",
            Self::NotReauthenticated { .. } => "reauthentication_not_proven",
            Self::SessionTooLarge { .. } => "session_too_large",
            Self::Store(_) => "pending_store_unavailable",
            Self::TooManyPending { .. } => "too_many_pending_step_ups",
        }
    }

    /// The message for the response: the whole description, except for
    /// server-side failures, whose details (URLs, network causes, store
    /// errors) go to the log only.
    pub fn message(&self) -> String {
        match self {
            Self::TokenEndpointFailed {
                transient: true, ..
            } => "the issuer could not be reached; try again in a moment".to_owned(),
            Self::TokenEndpointFailed { .. } => {
                "the issuer's token endpoint answered something unexpected".to_owned()
            }
            Self::Store(_) => "the pending step-up store is unavailable".to_owned(),
            Self::TooManyPending { .. } => {
                "too many sign-ins are in progress; try again in a moment".to_owned()
            }
            // The code from the fixed vocabulary, not the issuer's text (the
            // log line has that).
            Self::Authorization { kind, description } => format!(
                "the issuer answered {}{}",
                kind.code(),
                description
                    .as_deref()
                    .map(|d| format!(": {d}"))
                    .unwrap_or_default()
            ),
            other => other.to_string(),
        }
    }

    /// `{"error": "<code>", "message": "..."}`.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({ "error": self.code(), "message": self.message() })
    }

    /// The refusal as the one neutral answer: its status, the
    /// `Set-Cookie`s, `Retry-After` on a 503, and a small body naming the
    /// code (HTML for a browser, every value escaped; JSON otherwise).
    /// Never cached.
    pub fn answer(&self, set_cookies: &[String], browser: bool) -> crate::guard::render::Answer {
        use crate::guard::render::Answer;
        let mut answer = if browser {
            Answer::no_store(
                self.status(),
                "text/html; charset=utf-8",
                self.to_html().into_bytes(),
            )
        } else {
            Answer::json(self.status(), &self.to_json())
        };
        answer
            .headers
            .extend(set_cookies.iter().map(|c| ("set-cookie", c.clone())));
        answer
    }

    /// A small HTML page for a browser naming the code and the message,
    /// every value escaped ([`html_escape`](super::html_escape)).
    pub fn to_html(&self) -> String {
        super::page::error_page(self.code(), &self.message())
    }
}
