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

mod answer;
#[cfg(feature = "stepup")]
mod stepup;

use std::ops::Deref;

use axum::extract::{FromRef, FromRequestParts};
use axum::http::header::{COOKIE, HOST};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;

use crate::guard::{self, BrowserHook, GuardError, Head, Prepared, TokenSource, Wiring};
use crate::{
    guard::render::ErrorRenderer, guard::render::Refused, verify::issuers::Verifiers,
    verify::requirement::Requirement, verify::verifier::ClaimsMap, verify::verifier::Verified,
    verify::verifier::Verifier,
};

pub use answer::answer_response;

/// RFC 9728 protected resource metadata:
/// `.route(reauth::METADATA_PATH, get(reauth::axum::protected_resource_metadata)).layer(Extension(metadata))`.
pub async fn protected_resource_metadata(
    axum::Extension(metadata): axum::Extension<crate::guard::metadata::ProtectedResourceMetadata>,
) -> Response {
    answer_response(metadata.answer())
}
#[cfg(feature = "stepup")]
pub use stepup::{SignIn, sign_in, sign_in_to, sign_out, stepup_callback};

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

/// The shared extractor logic ([`guard::guard_request`]) with what the
/// route registered: the verifier(s) from the state, the token source,
/// error renderer and browser step-up from its extensions.
async fn extract<S, E>(
    parts: &Parts,
    state: &S,
    requirement: Result<Requirement, GuardError>,
    anonymous_ok: bool,
) -> Result<Option<Verified<E>>, Refused>
where
    Verifiers: FromRef<S>,
    E: DeserializeOwned + 'static,
{
    let wiring = wiring(parts, Verifiers::from_ref(state));
    let ready = requirement.and_then(|r| Ok((r, prepared(parts, &wiring)?)));
    let (requirement, prepared) = ready.map_err(|e| {
        e.log();
        Refused::new(e, wiring.renderer.clone())
    })?;
    guard::guard_request(prepared, &wiring, &requirement, anonymous_ok).await
}

/// A required login: the shared path's `Some`.
async fn required<S, E>(
    parts: &Parts,
    state: &S,
    requirement: Result<Requirement, GuardError>,
) -> Result<Verified<E>, Refused>
where
    Verifiers: FromRef<S>,
    E: DeserializeOwned + 'static,
{
    extract(parts, state, requirement, false)
        .await?
        .ok_or_else(|| Refused::from(GuardError::MissingToken))
}

/// What the route registered as `Extension`s (the step-up: `Extension(step)`).
fn wiring(parts: &Parts, verifiers: Verifiers) -> Wiring {
    Wiring {
        verifiers: Some(verifiers),
        source: parts.extensions.get::<TokenSource>().cloned(),
        renderer: parts.extensions.get::<ErrorRenderer>().cloned(),
        browser: browser(parts),
    }
}

#[cfg(feature = "stepup")]
fn browser(parts: &Parts) -> Option<std::sync::Arc<dyn BrowserHook>> {
    parts
        .extensions
        .get::<crate::stepup::StepUp>()
        .map(|s| std::sync::Arc::new(s.clone()) as std::sync::Arc<dyn BrowserHook>)
}

#[cfg(not(feature = "stepup"))]
fn browser(_: &Parts) -> Option<std::sync::Arc<dyn BrowserHook>> {
    None
}

/// The token read from the request's head ([`Prepared::read`]: every
/// `Cookie` header counts; a cross-site state change with the cookie is
/// refused).
fn prepared(parts: &Parts, wiring: &Wiring) -> Result<Prepared, GuardError> {
    let host = parts
        .uri
        .authority()
        .map(|a| a.as_str())
        .or_else(|| parts.headers.get(HOST).and_then(|h| h.to_str().ok()));
    let head = Head {
        method: parts.method.as_str(),
        host,
        path_and_query: parts.uri.path_and_query().map_or("/", |p| p.as_str()),
        header: |name: &str| parts.headers.get(name).map(|v| v.as_bytes()),
        cookies: || parts.headers.get_all(COOKIE).iter().map(|v| v.as_bytes()),
        scheme: parts.uri.scheme_str().unwrap_or("http"),
        dpop: parts
            .headers
            .get_all("dpop")
            .iter()
            .map(|v| v.as_bytes())
            .collect(),
    };
    Prepared::read(head, wiring)
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
        required(parts, state, guard::required(requirement(parts)))
            .await
            .map(Reauthenticated)
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
        extract(parts, state, guard::required(requirement(parts)), true)
            .await
            .map(MaybeReauthenticated)
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
        required(parts, state, Ok(req)).await.map(FreshWithin)
    }
}
