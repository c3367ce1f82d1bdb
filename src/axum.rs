//! axum adapter (feature `axum`): the same extractors and responses as the
//! actix adapter. No decisions here: see [`guard::check`].
//!
//! The [`Verifier`] comes from the router state (`Verifier: FromRef<S>`); a
//! [`Requirement`] (and optionally a [`TokenSource`]) from an `Extension`
//! layer on the route or router.
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
use std::time::Duration;

use axum::extract::{FromRef, FromRequestParts};
use axum::http::header::{CACHE_CONTROL, WWW_AUTHENTICATE};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Json, Response};
use serde::de::DeserializeOwned;

use crate::guard::{self, GuardError, TokenSource};
use crate::{ClaimsMap, Requirement, Verified, Verifier};

impl IntoResponse for GuardError {
    fn into_response(self) -> Response {
        let status =
            StatusCode::from_u16(self.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut res = (status, Json(self.to_json())).into_response();
        if let Some(challenge) = self
            .www_authenticate()
            .and_then(|c| HeaderValue::from_str(&c).ok())
        {
            res.headers_mut().insert(WWW_AUTHENTICATE, challenge);
        }
        res.headers_mut()
            .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
        res
    }
}

async fn extract<S, E>(
    parts: &Parts,
    state: &S,
    requirement: Requirement,
) -> Result<Verified<E>, GuardError>
where
    Verifier: FromRef<S>,
    E: DeserializeOwned + 'static,
{
    let verifier = Verifier::from_ref(state);
    let source = parts
        .extensions
        .get::<TokenSource>()
        .cloned()
        .unwrap_or_default();
    let token = source.extract(|name| {
        parts
            .headers
            .get(name)
            .and_then(|v| std::str::from_utf8(v.as_bytes()).ok())
    });
    guard::check(Some(&verifier), token, &requirement).await
}

fn requirement(parts: &Parts) -> Requirement {
    parts
        .extensions
        .get::<Requirement>()
        .cloned()
        .unwrap_or_default()
}

/// An accepted ID token, checked against the route's `Extension<Requirement>`
/// (none: signature and claims only). Derefs to [`Verified`].
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
    Verifier: FromRef<S>,
    S: Send + Sync,
    E: DeserializeOwned + Send + 'static,
{
    type Rejection = GuardError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, GuardError> {
        extract(parts, state, requirement(parts))
            .await
            .map(Reauthenticated)
    }
}

/// `FreshWithin<300>`: a login at most 300 s old; policy and step-up settings
/// still come from the route's `Extension<Requirement>`, if any.
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
    Verifier: FromRef<S>,
    S: Send + Sync,
    E: DeserializeOwned + Send + 'static,
{
    type Rejection = GuardError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, GuardError> {
        let req = requirement(parts).with_max_age(Some(Duration::from_secs(M)));
        extract(parts, state, req).await.map(FreshWithin)
    }
}
