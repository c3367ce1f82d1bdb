//! The browser step-up in actix-web (feature `stepup`): register a
//! [`StepUp`] as app data and refused browser requests become redirects to
//! the issuer; [`stepup_callback`] finishes the round trip. Translation
//! only: every decision is [`StepUp`]'s.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};

use super::answer::answer_response;
use super::app_data::closest_stepup;
use crate::guard::GuardError;
pub use crate::stepup::SignIn;
use crate::stepup::{StepUp, joined_cookies};

fn text(req: &HttpRequest, name: header::HeaderName) -> Option<&str> {
    req.headers().get(name).and_then(|v| v.to_str().ok())
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
    let cookies = joined_cookies(req.headers().get_all(header::COOKIE).map(|v| v.as_bytes()));
    answer_response(
        step.callback_answer(
            req.query_string(),
            cookies.as_deref(),
            text(&req, header::ACCEPT),
        )
        .await,
    )
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
    answer_response(
        step.sign_in_answer(return_to, text(req, header::ACCEPT))
            .await,
    )
}

/// A "Log out" route (POST): removes the session cookie and sends the
/// browser to `/` (`303 See Other`). It ends this app's session only, not
/// the issuer's.
pub async fn sign_out(req: HttpRequest) -> HttpResponse {
    let step = match not_registered(&req, closest_stepup(&req)) {
        Ok(s) => s,
        Err(res) => return res,
    };
    answer_response(step.sign_out_answer(
        req.method().as_str(),
        text(&req, header::ORIGIN),
        text(&req, header::HeaderName::from_static("sec-fetch-site")),
        "/",
    ))
}
