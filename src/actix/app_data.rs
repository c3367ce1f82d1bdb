//! What the adapter finds in actix's app data for a request: the closest
//! verifier(s), requirement, token source, error renderer and browser
//! step-up, each registered bare or as `web::Data<T>`; two that disagree
//! are a wiring mistake (500, logged), never a guess.

use actix_web::http::header;
use actix_web::{HttpRequest, web};

use crate::guard::render::ErrorRenderer;
use crate::guard::{self, GuardError, TokenSource};
#[cfg(feature = "stepup")]
use crate::stepup::StepUp;
use crate::verify::issuers::{IssuerSet, Verifiers};
use crate::verify::requirement::Requirement;
use crate::verify::verifier::Verifier;

/// The closest [`ErrorRenderer`], bare or `web::Data<ErrorRenderer>`.
pub(crate) fn renderer(req: &HttpRequest) -> Result<Option<ErrorRenderer>, GuardError> {
    closest(
        req,
        "an ErrorRenderer and a web::Data<ErrorRenderer> that differ reach this route; \
         register it one way",
    )
    .inspect_err(GuardError::log)
}

/// The closest [`Verifier`] or [`IssuerSet`](crate::IssuerSet), bare or in
/// `web::Data`. Both at once is refused (which one is meant cannot be told).
pub(crate) fn verifier(req: &HttpRequest) -> Result<Option<Verifiers>, GuardError> {
    let one = closest::<Verifier>(
        req,
        "two different Verifiers reach this route, one as app data and one as \
         web::Data<Verifier> (which one is closer cannot be told); register them one way",
    )?;
    let set = closest::<IssuerSet>(
        req,
        "two different IssuerSets reach this route (app data and web::Data); register one",
    )?;
    match (one, set) {
        (Some(_), Some(_)) => Err(GuardError::Misconfigured(
            "both a Verifier and an IssuerSet reach this route: register one of them",
        )),
        (Some(v), None) => Ok(Some(Verifiers::One(v))),
        (None, Some(s)) => Ok(Some(Verifiers::Set(s))),
        (None, None) if wrapped_in_arc(req) => Err(GuardError::Misconfigured(
            "a Verifier (or IssuerSet) is registered wrapped in an Arc (web::Data<Arc<Verifier>> \
             or Arc<Verifier>), which the extractors do not look for: register the Verifier \
             itself, `.app_data(verifier)` or `web::Data::new(verifier)` (it is an Arc inside, \
             cheap to clone)",
        )),
        (None, None) => Ok(None),
    }
}

/// The wiring mistake behind most "no Verifier registered" reports.
fn wrapped_in_arc(req: &HttpRequest) -> bool {
    use std::sync::Arc;
    req.app_data::<web::Data<Arc<Verifier>>>().is_some()
        || req.app_data::<Arc<Verifier>>().is_some()
        || req.app_data::<web::Data<Arc<IssuerSet>>>().is_some()
        || req.app_data::<Arc<IssuerSet>>().is_some()
}

/// The request's ID token, read from the closest [`TokenSource`] in app data
/// (default: `Authorization: Bearer`, or the session cookie when a browser
/// step-up is registered). For handlers that call [`guard::check`] themselves.
/// `Err` when `TokenSource` and `web::Data<TokenSource>` disagree.
pub fn request_token(req: &HttpRequest) -> Result<Option<String>, GuardError> {
    Ok(read_token(req)?.0)
}

/// The token of the closest [`TokenSource`], and whether it was sent
/// ([`TokenSource::read`]: every `Cookie` header counts).
pub(crate) fn read_token(req: &HttpRequest) -> Result<(Option<String>, bool), GuardError> {
    let host = req.connection_info().host().to_owned();
    token_source(req)?.read_request(
        req.method().as_str(),
        Some(&host),
        |name| req.headers().get(name).map(|v| v.as_bytes()),
        || req.headers().get_all(header::COOKIE).map(|v| v.as_bytes()),
    )
}

/// The closest [`TokenSource`]; without one, the browser step-up's session
/// cookie when a step-up is registered, else `Authorization: Bearer`.
pub(crate) fn token_source(req: &HttpRequest) -> Result<TokenSource, GuardError> {
    let source = closest::<TokenSource>(
        req,
        "a TokenSource and a web::Data<TokenSource> with different values reach this route; \
         register it one way",
    )?;
    #[cfg(feature = "stepup")]
    if let Some(s) = closest_stepup(req)? {
        return session_source(source, &s);
    }
    Ok(source.unwrap_or_default())
}

/// Whether the closest [`TokenSource`] was sent at all (see [`guard::optional`]).
pub(crate) fn token_sent(req: &HttpRequest) -> Result<bool, GuardError> {
    Ok(read_token(req)?.1)
}

/// The closest `T` in app data, registered bare or as `web::Data<T>`.
pub(crate) fn closest<T: PartialEq + Clone + 'static>(
    req: &HttpRequest,
    disagree: &'static str,
) -> Result<Option<T>, GuardError> {
    guard::one_of(
        [
            req.app_data::<T>(),
            req.app_data::<web::Data<T>>().map(|d| d.get_ref()),
        ],
        disagree,
    )
}

/// The closest [`Requirement`], bare or `web::Data<Requirement>`.
pub(crate) fn closest_requirement(req: &HttpRequest) -> Result<Option<Requirement>, GuardError> {
    closest(
        req,
        "a Requirement and a web::Data<Requirement> with different values reach this route \
         (which one is closer cannot be told); register them one way",
    )
}

#[cfg(feature = "stepup")]
/// The closest [`StepUp`], bare or `web::Data<StepUp>`.
pub(crate) fn closest_stepup(req: &HttpRequest) -> Result<Option<StepUp>, GuardError> {
    closest(
        req,
        "a StepUp and a web::Data<StepUp> that differ reach this route; register it one way",
    )
}

#[cfg(feature = "stepup")]
/// With a step-up registered the ID token is its session cookie: a
/// different [`TokenSource`] would let a browser sign in and never be seen
/// as signed in (a redirect loop), so it is refused.
fn session_source(found: Option<TokenSource>, step: &StepUp) -> Result<TokenSource, GuardError> {
    let cookie = step.token_source();
    match found {
        None => Ok(cookie),
        Some(s) if s == cookie => Ok(s),
        Some(_) => Err(GuardError::Misconfigured(
            "a StepUp and a TokenSource other than its session cookie reach this route, so a \
             browser would sign in and never be seen as signed in: remove the TokenSource (the \
             StepUp's cookie is used) or register StepUp::token_source()",
        )),
    }
}
