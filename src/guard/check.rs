//! The decision for one guarded request, whatever the framework: which
//! requirement applies, and whether the token passes it.

use serde::de::DeserializeOwned;

use crate::guard::error::GuardError;
use crate::verify::issuers::Verifiers;
use crate::verify::requirement::Requirement;
use crate::verify::verifier::{DpopPresentation, Verified, Verifier};

/// The whole decision for one guarded request, as every adapter makes it:
/// a verifier must be registered, a token must be present, and it must pass
/// `requirement`.
pub async fn check<E: DeserializeOwned + 'static>(
    verifier: Option<&Verifier>,
    token: Option<&str>,
    requirement: &Requirement,
) -> Result<Verified<E>, GuardError> {
    let one = verifier.cloned().map(Verifiers::One);
    check_with(one.as_ref(), token, requirement).await
}

/// [`check`] with one issuer's verifier or an [`IssuerSet`](crate::IssuerSet).
pub async fn check_with<E: DeserializeOwned + 'static>(
    verifier: Option<&Verifiers>,
    token: Option<&str>,
    requirement: &Requirement,
) -> Result<Verified<E>, GuardError> {
    check_presented(verifier, token, None, requirement).await
}

/// [`check_with`] for a token presented with DPoP (`dpop: Some`, RFC
/// 9449) or as `Bearer` (`None`).
pub async fn check_presented<E: DeserializeOwned + 'static>(
    verifier: Option<&Verifiers>,
    token: Option<&str>,
    dpop: Option<&DpopPresentation>,
    requirement: &Requirement,
) -> Result<Verified<E>, GuardError> {
    let result = match (verifier, token) {
        (None, _) => Err(GuardError::NotConfigured),
        (Some(_), None) => Err(GuardError::MissingToken),
        (Some(v), Some(t)) => v
            .verify_presented_as(t, dpop, requirement)
            .await
            .map_err(GuardError::from),
    };
    if let Err(e) = &result {
        e.log();
    }
    result
}

/// The one value of a setting an adapter found in the places it may be
/// registered (actix: `T` and `web::Data<T>` app data). Two disagreeing
/// values are refused (which one is closer cannot be told), never guessed.
#[cfg(feature = "actix")]
pub(crate) fn one_of<T: PartialEq + Clone>(
    found: [Option<&T>; 2],
    disagree: &'static str,
) -> Result<Option<T>, GuardError> {
    match found {
        [Some(a), Some(b)] if a != b => Err(GuardError::Misconfigured(disagree)),
        [a, b] => Ok(a.or(b).cloned()),
    }
}

/// The requirement a `Reauthenticated` route is checked against. None
/// registered is a wiring mistake (a `Requirement` on a layer that does not
/// reach the route, in axum `State` instead of an `Extension`, ...), not a
/// request for "signature only": that must be asked for explicitly with
/// [`Requirement::none()`]. For adapters of other frameworks.
pub fn required(found: Option<Requirement>) -> Result<Requirement, GuardError> {
    found.ok_or(GuardError::Misconfigured(
        "no Requirement reached this route, so its freshness would go unchecked: register \
         one where the route sees it (actix: app_data / web::Data on the app, scope or \
         resource; axum: an Extension layer on the route or the router after the route is \
         added), or register Requirement::none() for signature and claims only; \
         FreshWithin<SECS> needs none",
    ))
}

/// The requirement a `FreshWithin<SECS>` route is checked against: the
/// closest registered one (its policy and step-up), with `max_age` at most
/// `secs` (a stricter registered `max_age` is kept). For adapters of other
/// frameworks.
pub fn fresh_within(found: Option<Requirement>, secs: u64) -> Requirement {
    let r = found.unwrap_or_default();
    let limit = std::time::Duration::from_secs(secs);
    let max_age = r.max_age_value().map_or(limit, |m| m.min(limit));
    r.with_max_age(Some(max_age))
}

/// The decision for a route that serves anonymous and signed-in users
/// alike, from [`check`]'s result and [`TokenSource::is_sent`](crate::guard::TokenSource::is_sent): nothing
/// sent is `Ok(None)` (anonymous); a token that was sent must pass, and a
/// sent but unreadable one (`Authorization: Basic ...`, an empty cookie) is
/// `malformed_token`. Never silently anonymous. Wiring mistakes (no
/// verifier, no requirement) stay errors for anonymous requests too.
pub fn optional<E>(
    checked: Result<Verified<E>, GuardError>,
    sent: bool,
) -> Result<Option<Verified<E>>, GuardError> {
    match checked {
        Ok(v) => Ok(Some(v)),
        Err(GuardError::MissingToken) if !sent => Ok(None),
        Err(GuardError::MissingToken) => Err(GuardError::Verify(
            crate::error::Rejection::new(
                crate::error::RejectionKind::MalformedToken,
                "a credential was sent but holds no token (e.g. Authorization without Bearer)",
            )
            .into(),
        )),
        Err(e) => Err(e),
    }
}
