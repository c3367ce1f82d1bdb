//! actix-web adapter (feature `actix`): extractors, a scope middleware and
//! `ResponseError`. No decisions here: see [`guard::check`].
//!
//! Register the [`Verifier`](crate::Verifier) as app data (`.app_data(verifier.clone())` or
//! `web::Data<Verifier>`), and a [`Requirement`] at the app, scope or
//! resource level; the closest one applies.
//!
//! ```no_run
//! use actix_web::{web, App, HttpResponse};
//! use reauth::actix::Reauthenticated;
//! use reauth::{Requirement, Verifier};
//! use std::time::Duration;
//!
//! async fn delete_account(user: Reauthenticated) -> HttpResponse {
//!     HttpResponse::Ok().body(format!("deleted {}", user.subject()))
//! }
//!
//! fn app(verifier: Verifier) -> App<
//!     impl actix_web::dev::ServiceFactory<
//!         actix_web::dev::ServiceRequest,
//!         Config = (),
//!         Response = actix_web::dev::ServiceResponse,
//!         Error = actix_web::Error,
//!         InitError = (),
//!     >,
//! > {
//!     App::new().app_data(verifier).service(
//!         web::resource("/account/delete")
//!             .app_data(Requirement::max_age(Duration::from_secs(300)))
//!             .route(web::post().to(delete_account)),
//!     )
//! }
//! ```

use std::future::Future;
use std::ops::Deref;
use std::pin::Pin;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{FromRequest, HttpMessage, HttpRequest, HttpResponse, ResponseError, web};
use serde::de::DeserializeOwned;

use crate::guard::render::{Answer, Refused};
use crate::guard::{self, GuardError};
use crate::jwt::claims::ClaimsMap;
use crate::verify::requirement::Requirement;
use crate::verify::verifier::Verified;

mod answer;
mod app_data;
#[cfg(feature = "stepup")]
mod stepup;

pub use answer::answer_response;
pub use app_data::request_token;
use app_data::{closest_requirement, prepared, renderer, verifier, wiring};

type RefusedFuture<T> = Pin<Box<dyn Future<Output = Result<T, Refused>>>>;
#[cfg(feature = "stepup")]
pub use stepup::{SignIn, sign_in, sign_in_to, sign_out, stepup_callback};

/// The requirements requests were checked against by this adapter, so the
/// [`require`] middleware can tell whether a closer [`Requirement`] was
/// honoured by an extractor.
#[derive(Default)]
struct Checked(Vec<Requirement>);

/// Checks the request against `requirement(closest registered one)` with
/// the shared extractor logic ([`guard::guard_request`]: the token, the
/// check, the refusal or the browser step-up's redirect), and records both
/// requirements (the registered one is honoured: the adapters only tighten
/// it) for the [`require`] middleware.
fn extract<E: DeserializeOwned + 'static>(
    req: &HttpRequest,
    anonymous_ok: bool,
    requirement: impl FnOnce(Option<Requirement>) -> Result<Requirement, GuardError>,
) -> RefusedFuture<Option<Verified<E>>> {
    let wiring = (|| {
        let registered = closest_requirement(req)?;
        let effective = requirement(registered.clone())?;
        let wiring = wiring(req)?;
        let prepared = prepared(req, &wiring)?;
        Ok((registered, effective, wiring, prepared))
    })();
    let req = req.clone();
    Box::pin(async move {
        let (registered, requirement, wiring, prepared) = wiring.map_err(|e: GuardError| {
            e.log();
            Refused::new(e, renderer(&req).ok().flatten())
        })?;
        let verdict = guard::guard_request(prepared, &wiring, &requirement, anonymous_ok).await;
        let mut ext = req.extensions_mut();
        let checked = &mut ext.get_or_insert_with(Checked::default).0;
        checked.extend(registered);
        checked.push(requirement);
        verdict
    })
}

/// A required login: the shared path's `Some`.
fn required<E: DeserializeOwned + 'static>(
    req: &HttpRequest,
    requirement: impl FnOnce(Option<Requirement>) -> Result<Requirement, GuardError>,
) -> RefusedFuture<Verified<E>> {
    let fut = extract::<E>(req, false, requirement);
    Box::pin(async move {
        fut.await?
            .ok_or_else(|| Refused::from(GuardError::MissingToken))
    })
}

/// For routes that serve anonymous and signed-in users alike: `None` when
/// the request carries no token, else a token checked exactly as
/// [`Reauthenticated`] checks it. A token that was sent and is bad (or a
/// credential that holds none, like `Authorization: Basic`) is an error,
/// **never** anonymous. Do not use `Option<Reauthenticated>` for this:
/// actix-web turns *any* extractor error into `None` there, so an expired
/// or forged token would pass as anonymous.
///
/// ```
/// use actix_web::{web, HttpResponse};
/// use reauth::actix::MaybeReauthenticated;
///
/// async fn product_page(user: MaybeReauthenticated) -> HttpResponse {
///     match &user.0 {
///         Some(u) => HttpResponse::Ok().body(format!("hello {}", u.subject())),
///         None => HttpResponse::Ok().body("hello, guest"),
///     }
/// }
/// # let _ = web::resource("/product").route(web::get().to(product_page));
/// ```
///
#[doc = include_str!("../../docs/extractor_failures.md")]
#[derive(Debug, Clone)]
pub struct MaybeReauthenticated<E = ClaimsMap>(pub Option<Verified<E>>);

impl<E: DeserializeOwned + 'static> FromRequest for MaybeReauthenticated<E> {
    type Error = Refused;
    type Future = RefusedFuture<Self>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let fut = extract::<E>(req, true, guard::required);
        Box::pin(async move { fut.await.map(MaybeReauthenticated) })
    }
}

/// An accepted ID token, checked against the closest [`Requirement`] in app
/// data (`Requirement` or `web::Data<Requirement>`). Derefs to [`Verified`].
///
/// A route that no `Requirement` reaches answers **500 `server_error`**
/// (and logs the fix) rather than checking nothing: register
/// [`Requirement::none()`] for signature and claims only.
///
/// ```
/// use actix_web::{web, App, HttpResponse};
/// use reauth::actix::Reauthenticated;
/// use reauth::{Freshness, Requirement};
/// use std::time::Duration;
///
/// async fn payout(user: Reauthenticated) -> HttpResponse {
///     match user.freshness {
///         // `ReauthPolicy::Allow` let a user who cannot re-authenticate
///         // through: confirm some other way.
///         Freshness::Unavailable => HttpResponse::Accepted().body("check your e-mail"),
///         _ => HttpResponse::Ok().body(format!("paid out for {}", user.subject())),
///     }
/// }
///
/// let resource = web::resource("/payout")
///     .app_data(web::Data::new(Requirement::max_age(Duration::from_secs(300))))
///     .route(web::post().to(payout));
/// # let _ = App::new().service(resource);
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

impl<E: DeserializeOwned + 'static> FromRequest for Reauthenticated<E> {
    type Error = Refused;
    type Future = RefusedFuture<Self>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let fut = required::<E>(req, guard::required);
        Box::pin(async move { fut.await.map(Reauthenticated) })
    }
}

/// Like [`Reauthenticated`], with the route's `max_age` in the type:
/// `FreshWithin<300>` demands a login at most 300 s old. Policy and step-up
/// settings still come from the closest [`Requirement`], if any, and a
/// stricter `max_age` registered there wins.
///
/// ```
/// use actix_web::{web, App, HttpResponse};
/// use reauth::actix::FreshWithin;
///
/// // A login at most 10 minutes old; no Requirement needs registering.
/// async fn change_password(user: FreshWithin<600>) -> HttpResponse {
///     HttpResponse::Ok().body(format!("password changed for {}", user.subject()))
/// }
/// # let _ = App::new().route("/password", web::post().to(change_password));
/// ```
///
#[doc = include_str!("../../docs/extractor_failures.md")]
#[derive(Debug, Clone)]
pub struct FreshWithin<const MAX_AGE_SECS: u64, E = ClaimsMap>(pub Verified<E>);

impl<const S: u64, E> Deref for FreshWithin<S, E> {
    type Target = Verified<E>;
    fn deref(&self) -> &Verified<E> {
        &self.0
    }
}

impl<const S: u64, E: DeserializeOwned + 'static> FromRequest for FreshWithin<S, E> {
    type Error = Refused;
    type Future = RefusedFuture<Self>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let fut = required::<E>(req, |found| Ok(guard::fresh_within(found, S)));
        Box::pin(async move { fut.await.map(FreshWithin) })
    }
}

/// The form an issuer POSTs to a back-channel logout endpoint (§2.5).
#[derive(Debug, serde::Deserialize)]
pub struct LogoutRequest {
    /// The logout token.
    pub logout_token: String,
}

/// OpenID Connect Back-Channel Logout 1.0 receiver:
/// `.route("/backchannel-logout", web::post().to(reauth::actix::backchannel_logout))`.
/// Validates the logout token with the registered [`Verifier`](crate::Verifier) and records
/// the revocation: 200 on success, 400 for an invalid token (§2.8), 503 when
/// keys or the revocation store are unavailable (the issuer may retry).
pub async fn backchannel_logout(req: HttpRequest, form: web::Form<LogoutRequest>) -> HttpResponse {
    let verifier = match verifier(&req) {
        Ok(Some(v)) => v,
        Ok(None) => return GuardError::NotConfigured.error_response(),
        Err(e) => {
            e.log();
            return e.error_response();
        }
    };
    answer_response(Answer::logout(
        &verifier.backchannel_logout(&form.logout_token).await,
    ))
}

/// RFC 9728 protected resource metadata:
/// `.app_data(metadata).route(reauth::METADATA_PATH, web::get().to(reauth::actix::protected_resource_metadata))`,
/// with a [`ProtectedResourceMetadata`](crate::guard::metadata::ProtectedResourceMetadata)
/// registered as app data (bare or `web::Data`). None registered: 500 and
/// a log naming the fix.
pub async fn protected_resource_metadata(req: HttpRequest) -> HttpResponse {
    let found = req
        .app_data::<crate::guard::metadata::ProtectedResourceMetadata>()
        .or_else(|| {
            req.app_data::<web::Data<crate::guard::metadata::ProtectedResourceMetadata>>()
                .map(|d| d.get_ref())
        });
    match found {
        Some(m) => answer_response(m.answer()),
        None => {
            let e = GuardError::Misconfigured(
                "the metadata route has no ProtectedResourceMetadata in app data: register it with .app_data(metadata)",
            );
            e.log();
            e.error_response()
        }
    }
}

/// Middleware for whole scopes: `.wrap(actix_web::middleware::from_fn(reauth::actix::require))`.
/// Refuses requests that fail the closest [`Requirement`] **as seen where the
/// middleware is wrapped** and stores the [`Verified`] token in the request
/// extensions (`web::ReqData<Verified>`).
///
/// actix-web runs a scope's middleware before it routes to the resources
/// inside, so a `Requirement` registered on a resource (or an inner scope)
/// *below* the middleware is invisible to it. Put the `Requirement` on the
/// same scope as the middleware, or wrap the resource itself:
/// `web::resource("/delete").app_data(req).wrap(from_fn(require))`; a
/// [`Reauthenticated`] extractor in the handler always sees the closest one.
///
/// That combination fails loudly rather than passing: when the request
/// reached a different, closer `Requirement` that no extractor checked, the
/// answer is **500 `server_error`** and an error log naming the fix. The
/// handler has run by then (the middleware cannot see the resource before
/// it), so this catches the mistake in the route's first test, not in
/// production: test every route you wrap.
pub async fn require<B: MessageBody + 'static>(
    req: ServiceRequest,
    next: Next<B>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let verified = required::<ClaimsMap>(req.request(), guard::required).await?;
    req.extensions_mut().insert(verified);
    let res = next.call(req).await?;
    // Whatever a handler's extractor or this middleware checked, the closest
    // Requirement must be among it (a disagreement was refused already).
    let closest = closest_requirement(res.request()).ok().flatten();
    let honoured = res
        .request()
        .extensions()
        .get::<Checked>()
        .is_some_and(|c| closest.as_ref().is_some_and(|r| c.0.contains(r)));
    if !honoured {
        tracing::error!(
            path = res.request().path(),
            "reauth: a Requirement registered below the `require` middleware was not enforced; \
             register it on the scope that wraps `require`, wrap the resource itself, or take \
             `Reauthenticated` in the handler"
        );
        let (req, _) = res.into_parts();
        let error = GuardError::Misconfigured("a Requirement below `require` was not enforced");
        let response = Refused::new(error, renderer(&req).ok().flatten()).error_response();
        return Ok(ServiceResponse::new(req, response));
    }
    Ok(res.map_into_boxed_body())
}
