//! What the step-up hands back: who steps up, a begun round trip, a
//! finished one, a whole callback's completion. Their `Debug` never shows
//! a state, a nonce, a verifier or a cookie.

use crate::stepup::error::StepUpError;
use crate::stepup::pending::PendingStepUp;
use crate::verify::verifier::Verified;

/// The user stepping up: who must log in again.
#[derive(Clone, PartialEq, Eq)]
pub struct StepUpUser {
    pub(crate) sub: String,
    pub(crate) id_token: Option<String>,
}

impl std::fmt::Debug for StepUpUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StepUpUser")
            .field("sub", &self.sub)
            .finish_non_exhaustive()
    }
}

impl StepUpUser {
    /// The user `sub`, with their current ID token (sent as
    /// `id_token_hint` under [`UserHint::IdToken`](crate::stepup::UserHint::IdToken)).
    pub fn new(sub: impl Into<String>, id_token: Option<String>) -> Self {
        Self {
            sub: sub.into(),
            id_token,
        }
    }

    /// The user of a verified token.
    pub fn of<E>(verified: &Verified<E>, id_token: &str) -> Self {
        Self::new(verified.subject(), Some(id_token.to_owned()))
    }
}

/// A started step-up: where to send the browser, and what to keep.
#[derive(Clone)]
pub struct Begun {
    /// The authorization request URL (the `Location` of the 302).
    pub location: String,
    /// The pending cookie (`Set-Cookie` value): the sealed state, or with a
    /// [`PendingStore`](crate::stepup::PendingStore) the random value that binds it to this browser.
    pub set_cookie: String,
    /// The pending state itself.
    pub pending: PendingStepUp,
}

/// A finished step-up.
#[derive(Clone)]
pub struct Finished {
    /// The new ID token (keep it as the user's session).
    pub id_token: String,
    /// It, verified against the route's requirement.
    pub verified: Verified,
    /// Where the browser goes now: a path of this app.
    pub return_to: String,
}

/// A callback, handled: the result, and the `Set-Cookie` values to send
/// either way (the pending cookie is always removed; the session cookie is
/// set only on success).
pub struct Completion {
    /// Success (redirect to `return_to`) or the error to answer with.
    pub result: Result<Finished, StepUpError>,
    /// `Set-Cookie` header values.
    pub set_cookies: Vec<String>,
}

// The Debug output of what carries credentials (the authorization URL's
// query, sealed cookies, the new ID token) leaves them out: it may be logged.
impl std::fmt::Debug for Begun {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Begun")
            .field(
                "location",
                &crate::guard::render::without_query(&self.location),
            )
            .field("pending", &self.pending)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for Finished {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Finished")
            .field("sub", &self.verified.subject())
            .field("auth_time", &self.verified.auth_time())
            .field("return_to", &self.return_to)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for Completion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Completion")
            .field("result", &self.result)
            .field("set_cookies", &self.set_cookies.len())
            .finish()
    }
}
