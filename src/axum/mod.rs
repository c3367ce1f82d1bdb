//! axum adapter (feature `axum`): the same extractors and responses as the
//! actix adapter. No decisions here: see [`guard::check`].
//!
//! The [`Verifier`] comes from the router state (`Verifier: FromRef<S>`, or
//! `Verifiers: FromRef<S>` for an [`IssuerSet`](crate::IssuerSet):
//! `.with_state(Verifiers::from(set))`); a
//! [`Requirement`] (and optionally a [`TokenSource`]) from an `Extension`
//! layer on the route, or on the router *after* the route is added (axum
//! layers reach only the routes added before them). A [`Reauthenticated`]
//! route that no `Requirement` reaches answers 500 `server_error` and logs
//! the fix, never a pass; a `Requirement` kept in `State` is not read.
//!
//! ```no_run
//! use axum::{routing::post, Extension, Router};
//! use reauth::axum::Reauthenticated;
//! use reauth::{Requirement, Verifier};
//! use std::time::Duration;
//!
//! async fn delete_account(user: Reauthenticated) -> String {
//!     format!("deleted {}", user.subject())
//! }
//!
//! fn router(verifier: Verifier) -> Router {
//!     Router::new()
//!         .route(
//!             "/account/delete",
//!             post(delete_account).layer(Extension(Requirement::max_age(Duration::from_secs(300)))),
//!         )
//!         .with_state(verifier)
//! }
//! ```

use std::ops::Deref;

use axum::extract::{FromRef, FromRequestParts};
use axum::http::header::{CONTENT_TYPE, COOKIE, HOST};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;

use crate::guard::{self, GuardError, TokenSource};
use crate::{
    guard::render::Answer, guard::render::ErrorRenderer, guard::render::Refused,
    verify::issuers::Verifiers, verify::requirement::Requirement, verify::verifier::ClaimsMap,
    verify::verifier::Verified, verify::verifier::Verifier,
};

impl IntoResponse for GuardError {
    fn into_response(self) -> Response {
        Refused::from(self).into_response()
    }
}

/// The status, challenge, `Retry-After` and `Cache-Control` always; the
/// body from the route's `Extension(ErrorRenderer)` when one is registered
/// ([`Refused::answer`], converted here and only here).
impl IntoResponse for Refused {
    fn into_response(self) -> Response {
        answer_response(self.answer())
    }
}

/// The framework-neutral [`Answer`] as an axum response.
pub fn answer_response(answer: Answer) -> Response {
    let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut res = (status, answer.body).into_response();
    let headers = res.headers_mut();
    headers.remove(CONTENT_TYPE);
    for (name, value) in answer.headers {
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.append(name, value);
        }
    }
    res
}

async fn extract<S, E>(
    parts: &Parts,
    state: &S,
    requirement: Result<Requirement, GuardError>,
) -> Result<Verified<E>, GuardError>
where
    Verifiers: FromRef<S>,
    E: DeserializeOwned + 'static,
{
    let requirement = requirement.inspect_err(GuardError::log)?;
    let verifier = Verifiers::from_ref(state);
    let (token, _) = read_token(parts)?;
    guard::check_with(Some(&verifier), token.as_deref(), &requirement).await
}

/// The token of the route's [`TokenSource`] (default `Authorization:
/// Bearer`), and whether it was sent ([`TokenSource::read_request`]: every
/// `Cookie` header counts; a cross-site request with the cookie is refused).
fn read_token(parts: &Parts) -> Result<(Option<String>, bool), GuardError> {
    let host = parts
        .uri
        .authority()
        .map(|a| a.as_str())
        .or_else(|| parts.headers.get(HOST).and_then(|h| h.to_str().ok()));
    parts
        .extensions
        .get::<TokenSource>()
        .cloned()
        .unwrap_or_default()
        .read_request(
            parts.method.as_str(),
            host,
            |name| parts.headers.get(name).map(|v| v.as_bytes()),
            || parts.headers.get_all(COOKIE).iter().map(|v| v.as_bytes()),
        )
}

/// `error`, rendered through the route's `Extension(ErrorRenderer)`, if any.
fn refused(parts: &Parts, error: GuardError) -> Refused {
    Refused::new(error, parts.extensions.get::<ErrorRenderer>().cloned())
}

/// Any state a [`Verifier`] comes from (`.with_state(verifier)`, or a
/// state with `FromRef` for `Verifier`) gives the extractors that one
/// verifier; for several issuers use `.with_state(Verifiers::from(set))`.
impl<S> FromRef<S> for Verifiers
where
    Verifier: FromRef<S>,
{
    fn from_ref(state: &S) -> Self {
        Verifiers::One(Verifier::from_ref(state))
    }
}

fn token_sent(parts: &Parts) -> Result<bool, GuardError> {
    Ok(read_token(parts)?.1)
}

fn requirement(parts: &Parts) -> Option<Requirement> {
    parts.extensions.get::<Requirement>().cloned()
}

/// An accepted ID token, checked against the route's `Extension<Requirement>`.
/// Derefs to [`Verified`]. A route that no `Requirement` reaches answers
/// **500 `server_error`** (and logs the fix) rather than checking nothing:
/// register `Extension(Requirement::none())` for signature and claims only.
///
/// ```
/// use axum::{routing::post, Extension, Router};
/// use reauth::axum::Reauthenticated;
/// use reauth::{Requirement, Verifier};
/// use std::time::Duration;
///
/// async fn delete_account(user: Reauthenticated) -> String {
///     format!("deleted {}", user.subject())
/// }
///
/// fn router(verifier: Verifier) -> Router {
///     Router::new()
///         .route("/account/delete", post(delete_account))
///         // After the routes it should reach: axum layers reach only those.
///         .layer(Extension(Requirement::max_age(Duration::from_secs(300))))
///         .with_state(verifier)
/// }
/// ```
///
#[doc = include_str!("../../docs/extractor_failures.md")]
#[derive(Debug, Clone)]
pub struct Reauthenticated<E = ClaimsMap>(pub Verified<E>);

impl<E> Deref for Reauthenticated<E> {
    type Target = Verified<E>;
    fn deref(&self) -> &Verified<E> {
        &self.0
    }
}

impl<S, E> FromRequestParts<S> for Reauthenticated<E>
where
    Verifiers: FromRef<S>,
    S: Send + Sync,
    E: DeserializeOwned + Send + 'static,
{
    type Rejection = Refused;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Refused> {
        extract(parts, state, guard::required(requirement(parts)))
            .await
            .map(Reauthenticated)
            .map_err(|e| refused(parts, e))
    }
}

/// For routes that serve anonymous and signed-in users alike: `None` when
/// the request carries no token, else a token checked exactly as
/// [`Reauthenticated`] checks it. A token that was sent and is bad (or a
/// credential that holds none, like `Authorization: Basic`) is an error,
/// **never** anonymous.
///
/// ```
/// use axum::{routing::get, Extension, Router};
/// use reauth::axum::MaybeReauthenticated;
/// use reauth::{Requirement, Verifier};
///
/// async fn product_page(user: MaybeReauthenticated) -> String {
///     match &user.0 {
///         Some(u) => format!("hello {}", u.subject()),
///         None => "hello, guest".to_owned(),
///     }
/// }
///
/// fn router(verifier: Verifier) -> Router {
///     Router::new()
///         .route("/product", get(product_page))
///         .layer(Extension(Requirement::none()))
///         .with_state(verifier)
/// }
/// ```
///
#[doc = include_str!("../../docs/extractor_failures.md")]
#[derive(Debug, Clone)]
pub struct MaybeReauthenticated<E = ClaimsMap>(pub Option<Verified<E>>);

impl<S, E> FromRequestParts<S> for MaybeReauthenticated<E>
where
    Verifiers: FromRef<S>,
    S: Send + Sync,
    E: DeserializeOwned + Send + 'static,
{
    type Rejection = Refused;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Refused> {
        let checked = extract(parts, state, guard::required(requirement(parts))).await;
        token_sent(parts)
            .and_then(|sent| guard::optional(checked, sent))
            .map(MaybeReauthenticated)
            .map_err(|e| refused(parts, e))
    }
}

/// `FreshWithin<300>`: a login at most 300 s old; policy and step-up settings
/// still come from the route's `Extension<Requirement>`, if any, and a
/// stricter `max_age` registered there wins.
///
/// ```
/// use axum::{routing::post, Router};
/// use reauth::axum::FreshWithin;
/// use reauth::Verifier;
///
/// async fn change_password(user: FreshWithin<600>) -> String {
///     format!("password changed for {}", user.subject())
/// }
///
/// fn router(verifier: Verifier) -> Router {
///     Router::new().route("/password", post(change_password)).with_state(verifier)
/// }
/// ```
///
#[doc = include_str!("../../docs/extractor_failures.md")]
#[derive(Debug, Clone)]
pub struct FreshWithin<const MAX_AGE_SECS: u64, E = ClaimsMap>(pub Verified<E>);

impl<const M: u64, E> Deref for FreshWithin<M, E> {
    type Target = Verified<E>;
    fn deref(&self) -> &Verified<E> {
        &self.0
    }
}

impl<const M: u64, S, E> FromRequestParts<S> for FreshWithin<M, E>
where
    Verifiers: FromRef<S>,
    S: Send + Sync,
    E: DeserializeOwned + Send + 'static,
{
    type Rejection = Refused;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Refused> {
        let req = guard::fresh_within(requirement(parts), M);
        extract(parts, state, Ok(req))
            .await
            .map(FreshWithin)
            .map_err(|e| refused(parts, e))
    }
}
