//! What the adapter finds in actix's app data for a request: the closest
//! verifier(s), requirement, token source, error renderer and browser
//! step-up, each registered bare or as `web::Data<T>`; two that disagree
//! are a wiring mistake (500, logged), never a guess.

use actix_web::http::header;
use actix_web::{HttpRequest, web};

use crate::guard::render::ErrorRenderer;
use std::sync::Arc;

use crate::guard::{self, BrowserHook, GuardError, Head, Prepared, TokenSource, Wiring};
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
    Ok(prepared(req, &wiring(req)?)?.token().map(str::to_owned))
}

/// Everything the app registered for this route, found once.
pub(crate) fn wiring(req: &HttpRequest) -> Result<Wiring, GuardError> {
    Ok(Wiring {
        verifiers: verifier(req)?,
        source: closest::<TokenSource>(
            req,
            "a TokenSource and a web::Data<TokenSource> with different values reach this route; \
             register it one way",
        )?,
        renderer: renderer(req)?,
        browser: browser(req)?,
    })
}

/// The browser step-up registered for this route, as the guard's hook.
#[cfg(feature = "stepup")]
fn browser(req: &HttpRequest) -> Result<Option<Arc<dyn BrowserHook>>, GuardError> {
    Ok(closest_stepup(req)?.map(|s| Arc::new(s) as Arc<dyn BrowserHook>))
}

#[cfg(not(feature = "stepup"))]
fn browser(_: &HttpRequest) -> Result<Option<Arc<dyn BrowserHook>>, GuardError> {
    Ok(None)
}

/// The token read from the request's head ([`Prepared::read`]: every
/// `Cookie` header counts; a cross-site state change with the cookie is
/// refused).
pub(crate) fn prepared(req: &HttpRequest, wiring: &Wiring) -> Result<Prepared, GuardError> {
    let info = req.connection_info();
    let host = info.host().to_owned();
    let scheme = info.scheme().to_owned();
    drop(info);
    let head = Head {
        method: req.method().as_str(),
        host: Some(&host),
        path_and_query: req.uri().path_and_query().map_or("/", |p| p.as_str()),
        header: |name: &str| req.headers().get(name).map(|v| v.as_bytes()),
        cookies: || req.headers().get_all(header::COOKIE).map(|v| v.as_bytes()),
        scheme: &scheme,
        dpop: req
            .headers()
            .get_all("dpop")
            .map(|v| v.as_bytes())
            .collect(),
    };
    Prepared::read(head, wiring)
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
