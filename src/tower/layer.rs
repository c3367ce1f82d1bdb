//! The layer and the service it wraps around another: glue between tower
//! and the framework-free guard ([`guard::guard_request`], the extractor
//! logic every adapter shares).

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use ::tower::{Layer, Service};
use bytes::Bytes;
use http::header::{COOKIE, HOST};
use http::{Request, Response};
use http_body_util::{Either, Full};

use super::answer::{is_grpc, refusal_response};
use crate::guard::render::{ErrorRenderer, Refused};
use crate::guard::{self, GuardError, Head, Prepared, TokenSource, Wiring};
use crate::jwt::claims::ClaimsMap;
use crate::verify::issuers::Verifiers;
use crate::verify::requirement::Requirement;
use crate::verify::verifier::Verified;

/// The response body of a guarded service: the inner service's body, or
/// the refusal's (the rendered error, empty for a gRPC status).
pub type GuardedBody<B> = Either<B, Full<Bytes>>;

/// The future of a [`Reauth`] service: `Send`, boxed.
pub type ResponseFuture<B, E> =
    Pin<Box<dyn Future<Output = Result<Response<GuardedBody<B>>, E>> + Send>>;

/// A [`tower::Layer`](::tower::Layer) that guards every request of the
/// service it wraps (an axum `Router`, a tonic gRPC server, a hyper
/// service) with a [`Requirement`]: a request whose token passes reaches
/// the service with the [`Verified`] token in its extensions
/// (`Extension<Verified>` in axum, `request.extensions()` in tonic);
/// any other is answered by the layer, without reaching it:
///
/// - HTTP: the refusal every adapter gives ([`Refused::answer`]): 401 with
///   the RFC 6750 / RFC 9470 `WWW-Authenticate` challenge, 403, 503 with
///   `Retry-After`, the JSON body or the [`ErrorRenderer`]'s;
/// - gRPC (HTTP/2, `content-type: application/grpc*`): a gRPC status
///   (`UNAUTHENTICATED` for 401, `PERMISSION_DENIED` for 403,
///   `UNAVAILABLE` for 503, `INTERNAL` for 500) with the same
///   `www-authenticate` in the response metadata ([`grpc_answer`](super::grpc_answer)).
///
/// The token is read from `Authorization: Bearer` unless
/// [`token_source`](Self::token_source) says otherwise. Only headers are
/// read: the request body passes through untouched.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// use std::time::Duration;
///
/// use axum::routing::post;
/// use axum::{Extension, Router};
/// use reauth::testing::TestIssuer;
/// use reauth::tower::ReauthLayer;
/// use reauth::{Requirement, Verified};
/// use tower::ServiceExt;
///
/// async fn delete_account(Extension(user): Extension<Verified>) -> String {
///     format!("deleted {}", user.subject())
/// }
///
/// let issuer = TestIssuer::start().await;
/// let app = Router::new()
///     .route("/account/delete", post(delete_account))
///     .layer(ReauthLayer::new(
///         issuer.verifier().await,
///         Requirement::max_age(Duration::from_secs(300)),
///     ));
///
/// let request = |token: String| {
///     axum::http::Request::post("/account/delete")
///         .header("authorization", format!("Bearer {token}"))
///         .body(axum::body::Body::empty())
///         .unwrap()
/// };
/// let fresh = app.clone().oneshot(request(issuer.token().sign())).await.unwrap();
/// assert_eq!(fresh.status(), 200);
/// let stale = request(issuer.token().auth_time_ago(3600).sign());
/// let refused = app.oneshot(stale).await.unwrap();
/// assert_eq!(refused.status(), 401);
/// assert!(refused.headers()["www-authenticate"]
///     .to_str()
///     .unwrap()
///     .contains("insufficient_user_authentication"));
/// # }
/// ```
#[derive(Clone)]
pub struct ReauthLayer {
    guard: Guard,
}

/// What a layer checks, shared by the services it makes.
#[derive(Clone)]
struct Guard {
    /// The verifier(s), token source and renderer (the shared path's wiring).
    wiring: Wiring,
    requirement: Requirement,
    /// A request that sends no token passes, anonymous.
    anonymous: bool,
}

impl ReauthLayer {
    /// Every request must carry a token from `verifiers` (a [`Verifier`](crate::Verifier) or
    /// an [`IssuerSet`](crate::IssuerSet)) that passes `requirement`
    /// ([`Requirement::none()`] for signature and claims only).
    pub fn new(verifiers: impl Into<Verifiers>, requirement: Requirement) -> Self {
        Self {
            guard: Guard {
                wiring: Wiring {
                    verifiers: Some(verifiers.into()),
                    ..Wiring::default()
                },
                requirement,
                anonymous: false,
            },
        }
    }

    /// For services that serve anonymous and signed-in users alike: a
    /// request that sends no token reaches the service with no
    /// [`Verified`] in its extensions (`Option<Extension<Verified>>` in
    /// axum); a token that was sent is checked as [`new`](Self::new) checks
    /// it, and a bad one (or a credential that holds none, like
    /// `Authorization: Basic`) is refused, **never** anonymous
    /// ([`guard::optional`]).
    pub fn optional(verifiers: impl Into<Verifiers>, requirement: Requirement) -> Self {
        let mut layer = Self::new(verifiers, requirement);
        layer.guard.anonymous = true;
        layer
    }

    /// Reads the token from `source` instead of `Authorization: Bearer`.
    /// A [`TokenSource::Cookie`] refuses a state-changing cross-site
    /// request that carries the cookie (403 `cross_site_request`).
    pub fn token_source(mut self, source: TokenSource) -> Self {
        self.guard.wiring.source = Some(source);
        self
    }

    /// Sends refused browser navigations to log in again through `hook`
    /// (the browser step-up: `Arc::new(step_up)` with feature `stepup`),
    /// the same shared refusal path as the other adapters. The hook's
    /// session cookie becomes the token source.
    pub fn browser_hook(mut self, hook: std::sync::Arc<dyn guard::BrowserHook>) -> Self {
        self.guard.wiring.browser = Some(hook);
        self
    }

    /// Renders the body of HTTP refusals with `renderer` instead of
    /// `{"error": "<code>", "message": "..."}`. Status and headers stay.
    pub fn error_renderer(mut self, renderer: ErrorRenderer) -> Self {
        self.guard.wiring.renderer = Some(renderer);
        self
    }
}

impl<S> Layer<S> for ReauthLayer {
    type Service = Reauth<S>;

    fn layer(&self, inner: S) -> Reauth<S> {
        Reauth {
            inner,
            guard: Arc::new(self.guard.clone()),
        }
    }
}

/// A service guarded by a [`ReauthLayer`] (see there). `Clone` when the
/// inner service is; its readiness is the inner service's.
#[derive(Clone)]
pub struct Reauth<S> {
    inner: S,
    guard: Arc<Guard>,
}

impl<S> Reauth<S> {
    /// The wrapped service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }
}

impl<S, ReqB, ResB> Service<Request<ReqB>> for Reauth<S>
where
    S: Service<Request<ReqB>, Response = Response<ResB>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    ReqB: Send + 'static,
{
    type Response = Response<GuardedBody<ResB>>;
    type Error = S::Error;
    type Future = ResponseFuture<ResB, S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<ReqB>) -> Self::Future {
        // The instance that was polled ready serves this request; a clone
        // (not yet ready) stays for the next one (tower's Service docs).
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let guard = Arc::clone(&self.guard);
        // Headers are read now, so the future holds no borrow of the
        // request (whose body need not be `Sync`).
        let grpc = is_grpc(request.version(), request.headers());
        let read = guard.read(&request);
        Box::pin(async move {
            let decided = match read {
                Ok(prepared) => {
                    guard::guard_request::<ClaimsMap>(
                        prepared,
                        &guard.wiring,
                        &guard.requirement,
                        guard.anonymous,
                    )
                    .await
                }
                Err(e) => Err(Refused::new(e, guard.wiring.renderer.clone())),
            };
            match decided {
                Ok(verified) => {
                    // Nothing set before this layer passes for a verified token.
                    request.extensions_mut().remove::<Verified>();
                    if let Some(verified) = verified {
                        request.extensions_mut().insert(verified);
                    }
                    let response = inner.call(request).await?;
                    Ok(response.map(Either::Left))
                }
                Err(refused) => Ok(refusal_response(&refused, grpc).map(Either::Right)),
            }
        })
    }
}

impl Guard {
    /// [`Prepared::read`] on the request's head: the host is the URI's
    /// authority (HTTP/2 `:authority`) or `Host`, every `Cookie` header
    /// counts.
    fn read<B>(&self, request: &Request<B>) -> Result<Prepared, GuardError> {
        let headers = request.headers();
        let host = request
            .uri()
            .authority()
            .map(|a| a.as_str())
            .or_else(|| headers.get(HOST).and_then(|h| h.to_str().ok()));
        let head = Head {
            method: request.method().as_str(),
            host,
            path_and_query: request.uri().path_and_query().map_or("/", |p| p.as_str()),
            header: |name: &str| headers.get(name).map(|v| v.as_bytes()),
            cookies: || headers.get_all(COOKIE).iter().map(|v| v.as_bytes()),
            scheme: request.uri().scheme_str().unwrap_or("http"),
            dpop: headers
                .get_all("dpop")
                .iter()
                .map(|v| v.as_bytes())
                .collect(),
        };
        Prepared::read(head, &self.wiring)
    }
}

/// Never the verifier's keys or the renderer's closure.
impl fmt::Debug for ReauthLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.guard.fmt(f)
    }
}

impl<S: fmt::Debug> fmt::Debug for Reauth<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Reauth")
            .field("inner", &self.inner)
            .field("guard", &self.guard)
            .finish()
    }
}

impl fmt::Debug for Guard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReauthLayer")
            .field("requirement", &self.requirement)
            .field("token_source", &self.wiring.source)
            .field("error_renderer", &self.wiring.renderer.is_some())
            .field("anonymous", &self.anonymous)
            .finish_non_exhaustive()
    }
}
