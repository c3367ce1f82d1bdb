//! The browser step-up in actix-web (feature `stepup`): register a
//! [`StepUp`] as app data and refused browser requests become redirects to
//! the issuer; [`stepup_callback`] finishes the round trip. Translation
//! only: every decision is [`StepUp`]'s.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};

use super::answer::answer_response;
use super::app_data::{closest_stepup, prepared, wiring};
use crate::guard::GuardError;
use crate::guard::render::Answer;
use crate::guard::render::Redirect;
use crate::stepup::{StepUp, StepUpError};

/// Every `Cookie` header of the request as one (HTTP/2 sends one per
/// cookie, and actix-web does not join them).
fn cookie_header(req: &HttpRequest) -> Option<String> {
    let all: Vec<&str> = req
        .headers()
        .get_all(header::COOKIE)
        .filter_map(|v| v.to_str().ok())
        .collect();
    (!all.is_empty()).then(|| all.join("; "))
}

/// CSRF: the session cookie authenticates, so a state-changing request
/// from another site that carries it is refused ([`StepUp::cross_site`],
/// through the shared [`Prepared::read`](crate::guard::Prepared::read)).
fn same_site(req: &HttpRequest) -> Result<(), GuardError> {
    prepared(req, &wiring(req)?).map(|_| ())
}

/// A refused step-up ([`StepUpError::answer`]).
fn refused(
    req: &HttpRequest,
    step: Option<&StepUp>,
    e: &StepUpError,
    cookies: &[String],
) -> HttpResponse {
    let accept = req
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok());
    answer_response(e.answer(cookies, step.is_some_and(|s| s.is_browser(accept))))
}

fn not_registered(
    req: &HttpRequest,
    found: Result<Option<StepUp>, GuardError>,
) -> Result<StepUp, HttpResponse> {
    match found {
        Ok(Some(s)) => Ok(s),
        Ok(None) => {
            tracing::error!(
                path = req.path(),
                "reauth: no StepUp is registered with the application; add it as app data"
            );
            Err(actix_web::ResponseError::error_response(
                &GuardError::NotConfigured,
            ))
        }
        Err(e) => {
            e.log();
            Err(actix_web::ResponseError::error_response(&e))
        }
    }
}

/// The redirect URI's handler: `.route("/callback", web::get().to(reauth::actix::stepup_callback))`.
/// Finishes the step-up ([`StepUp::complete`]): on success the session
/// cookie holds the new ID token and the browser goes back to where it was
/// (a path of this app); a forged, replayed or expired callback is 400, a
/// different user 403 (the old session cookie is left as it was).
pub async fn stepup_callback(req: HttpRequest) -> HttpResponse {
    let step = match not_registered(&req, closest_stepup(&req)) {
        Ok(s) => s,
        Err(res) => return res,
    };
    let done = step
        .complete(req.query_string(), cookie_header(&req).as_deref())
        .await;
    match done.result {
        Ok(finished) => answer_response(Answer::redirect(&Redirect {
            location: finished.return_to,
            set_cookies: done.set_cookies,
        })),
        Err(e) => refused(&req, Some(&step), &e, &done.set_cookies),
    }
}

/// The `return_to` query parameter of a sign-in link.
#[derive(Debug, serde::Deserialize)]
pub struct SignIn {
    /// Where to go once signed in: a path of this app (default `/`).
    pub return_to: Option<String>,
}

/// A "Log in" route: `.route("/login", web::get().to(reauth::actix::sign_in))`.
/// Sends the browser to the issuer for a plain sign-in, back to
/// `?return_to=` (a path of this app; anything else is 400
/// `invalid_return_to`, never an open redirect).
pub async fn sign_in(req: HttpRequest, query: web::Query<SignIn>) -> HttpResponse {
    sign_in_to(&req, query.return_to.as_deref().unwrap_or("/")).await
}

/// [`sign_in`] with the place to return to chosen by the app (a path of
/// this app; anything else is 400 `invalid_return_to`).
pub async fn sign_in_to(req: &HttpRequest, return_to: &str) -> HttpResponse {
    let step = match not_registered(req, closest_stepup(req)) {
        Ok(s) => s,
        Err(res) => return res,
    };
    match step.sign_in(return_to).await {
        Ok(redirect) => answer_response(Answer::redirect(&redirect)),
        Err(e) => refused(req, Some(&step), &e, &[]),
    }
}

/// A "Log out" route (POST): removes the session cookie and sends the
/// browser to `/` (`303 See Other`). It ends this app's session only, not
/// the issuer's.
pub async fn sign_out(req: HttpRequest) -> HttpResponse {
    let step = match not_registered(&req, closest_stepup(&req)) {
        Ok(s) => s,
        Err(res) => return res,
    };
    if let Err(e) = same_site(&req) {
        return actix_web::ResponseError::error_response(&e);
    }
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, "/"))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::SET_COOKIE, step.session_removal()))
        .finish()
}
