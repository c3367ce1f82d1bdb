//! What a verifier (or a route) does for users who cannot re-authenticate.

/// What to do when the token says the user *cannot* re-authenticate
/// (the can-reauthenticate claim is `false`, e.g. a passwordless or
/// anonymous account) and the route demands a fresh login.
///
/// Authgear sends `https://authgear.com/claims/user/can_reauthenticate` and
/// leaves it to the app whether such users may proceed with a sensitive
/// operation; this is that decision, per route
/// ([`Requirement::when_cannot_reauthenticate`](crate::Requirement::when_cannot_reauthenticate)) or for the whole verifier.
///
/// | the token says | route demands | `Deny` (default) | `Allow` |
/// |---|---|---|---|
/// | `false`, login fresh **or** stale | `max_age` | 403 `reauthentication_unavailable` | accepted, [`Freshness::Unavailable`](crate::Freshness::Unavailable) (age check waived) |
/// | `false` | `max_age` and `acr_values` / `amr` | 403 | `acr`/`amr` still enforced (401 step-up), else `Unavailable` |
/// | `false` | only `acr_values` / `amr` | 403 | `acr`/`amr` enforced, else `Unavailable` |
/// | `false` | nothing ([`Requirement::none()`](crate::Requirement::none)) | accepted, `NotRequired` | accepted, `NotRequired` |
/// | claim absent, or `true` | anything | able to re-authenticate: every check applies | same |
///
/// `Deny` answers 403 even for a fresh login: a 401 would send the client to
/// re-authenticate a user who cannot, in a loop. The verifier-wide absolute
/// session lifetime applies to every user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ReauthPolicy {
    /// Reject with `reauthentication_unavailable` (403). The default.
    #[default]
    Deny,
    /// Accept; the result's freshness is [`Freshness::Unavailable`](crate::Freshness::Unavailable) so the
    /// handler can decide (e.g. send an e-mail confirmation instead).
    Allow,
}
