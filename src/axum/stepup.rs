//! The browser step-up in axum (feature `stepup`): add the [`StepUp`] as
//! an `Extension` and refused browser requests become redirects to the
//! issuer; [`stepup_callback`] finishes the round trip. Translation only:
//! every decision is [`StepUp`]'s.

use axum::extract::Query;
use axum::http::header::{ACCEPT, COOKIE, ORIGIN};
use axum::http::request::Parts;
use axum::response::Response;

use super::answer::answer_response;
use crate::guard::GuardError;
use crate::guard::render::Refused;
use crate::stepup::{StepUp, joined_cookies};

pub use crate::stepup::SignIn;

fn text<'p>(parts: &'p Parts, name: &str) -> Option<&'p str> {
    parts.headers.get(name).and_then(|v| v.to_str().ok())
}

/// The route's `Extension(StepUp)`; without one, the fix is logged.
fn registered(parts: &Parts) -> Option<&StepUp> {
    let step = parts.extensions.get::<StepUp>();
    if step.is_none() {
        tracing::error!(
            path = parts.uri.path(),
            "reauth: no StepUp reaches this route; add `.layer(Extension(step))` after it"
        );
    }
    step
}

/// A route no `StepUp` reaches: 500 `server_error` (logged by [`registered`]).
fn missing() -> Response {
    answer_response(Refused::from(GuardError::NotConfigured).answer())
}

/// The redirect URI's handler: `.route("/callback", get(reauth::axum::stepup_callback))`.
/// Finishes the step-up ([`StepUp::callback_answer`]): on success the
/// session cookie holds the new ID token and the browser goes back to
/// where it was (a path of this app); a forged, replayed or expired
/// callback is 400, a different user 403.
pub async fn stepup_callback(parts: Parts) -> Response {
    let Some(step) = registered(&parts) else {
        return missing();
    };
    let cookies = joined_cookies(parts.headers.get_all(COOKIE).iter().map(|v| v.as_bytes()));
    let query = parts.uri.query().unwrap_or_default();
    answer_response(
        step.callback_answer(query, cookies.as_deref(), text(&parts, ACCEPT.as_str()))
            .await,
    )
}

/// A "Log in" route: `.route("/login", get(reauth::axum::sign_in))`.
/// Sends the browser to the issuer for a plain sign-in, back to
/// `?return_to=` (a path of this app; anything else is 400
/// `invalid_return_to`, never an open redirect).
pub async fn sign_in(parts: Parts, Query(query): Query<SignIn>) -> Response {
    sign_in_to(&parts, query.return_to.as_deref().unwrap_or("/")).await
}

/// [`sign_in`] with the place to return to chosen by the app (a path of
/// this app; anything else is 400 `invalid_return_to`).
pub async fn sign_in_to(parts: &Parts, return_to: &str) -> Response {
    let Some(step) = registered(parts) else {
        return missing();
    };
    answer_response(
        step.sign_in_answer(return_to, text(parts, ACCEPT.as_str()))
            .await,
    )
}

/// A "Log out" route (POST): removes the session cookie and sends the
/// browser to `/` (`303 See Other`); a cross-site post is 403
/// `cross_site_request`. It ends this app's session only, not the issuer's.
pub async fn sign_out(parts: Parts) -> Response {
    let Some(step) = registered(&parts) else {
        return missing();
    };
    answer_response(step.sign_out_answer(
        parts.method.as_str(),
        text(&parts, ORIGIN.as_str()),
        text(&parts, "sec-fetch-site"),
        "/",
    ))
}
