//! The tower adapter end to end, against real things on 127.0.0.1: a tonic
//! gRPC server (the standard health service) and tonic's generated client;
//! an axum `Router` guarded by the layer, answered exactly as the axum
//! extractor answers; a plain hyper service.
#![cfg(all(feature = "tower", feature = "axum", feature = "testing"))]

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Body;
use axum::body::Bytes;
use axum::http;
use axum::routing::post;
use axum::{Extension, Router};
use http_body_util::{BodyExt, Full};
use reauth::testing::{Behavior, TestIssuer};
use reauth::tower::ReauthLayer;
use reauth::{ErrorRenderer, Requirement, TokenSource, Verified, Verifier};
use tonic::Code;
use tonic::transport::Channel;
use tonic::transport::server::TcpIncoming;
use tonic_health::ServingStatus;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;
use tower::{Layer, Service, ServiceExt};

fn five_minutes() -> Requirement {
    Requirement::max_age(Duration::from_secs(300))
}

/// Puts the subject of the `Verified` the guard left in the request's
/// extensions into the response's `x-subject` header: what the guarded
/// service saw, readable by a gRPC client as metadata.
#[derive(Clone)]
struct EchoSubject<S>(S);

impl<S, B, R> Service<http::Request<B>> for EchoSubject<S>
where
    S: Service<http::Request<B>, Response = http::Response<R>> + Send,
    S::Future: Send + 'static,
{
    type Response = http::Response<R>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<http::Response<R>, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.0.poll_ready(cx)
    }

    fn call(&mut self, req: http::Request<B>) -> Self::Future {
        let subject = req
            .extensions()
            .get::<Verified>()
            .map(|v| v.subject().to_owned());
        let fut = self.0.call(req);
        Box::pin(async move {
            let mut res = fut.await?;
            if let Some(subject) = subject {
                res.headers_mut()
                    .insert("x-subject", subject.parse().unwrap());
            }
            Ok(res)
        })
    }
}

/// A tonic server with the health service behind `layer` (and
/// [`EchoSubject`] inside it), and a client connected to it.
async fn grpc(layer: ReauthLayer) -> HealthClient<Channel> {
    let (reporter, health) = tonic_health::server::health_reporter();
    reporter
        .set_service_status("", ServingStatus::Serving)
        .await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        // The reporter lives as long as the server.
        let _reporter = reporter;
        tonic::transport::Server::builder()
            .layer(tower::layer::layer_fn(move |s| layer.layer(EchoSubject(s))))
            .add_service(health)
            .serve_with_incoming(TcpIncoming::from(listener))
            .await
            .unwrap()
    });
    let channel = Channel::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect()
        .await
        .unwrap();
    HealthClient::new(channel)
}

async fn check(
    client: &mut HealthClient<Channel>,
    token: Option<&str>,
) -> Result<tonic::Response<tonic_health::pb::HealthCheckResponse>, tonic::Status> {
    let mut request = tonic::Request::new(HealthCheckRequest::default());
    if let Some(token) = token {
        request
            .metadata_mut()
            .insert("authorization", format!("Bearer {token}").parse().unwrap());
    }
    client.check(request).await
}

fn challenge(status: &tonic::Status) -> Option<&str> {
    status
        .metadata()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap())
}

#[tokio::test]
async fn grpc_refusals_are_statuses_with_the_challenge() {
    let issuer = TestIssuer::start().await;
    let mut client = grpc(ReauthLayer::new(issuer.verifier().await, five_minutes())).await;

    // No token: UNAUTHENTICATED with the bare RFC 6750 challenge.
    let status = check(&mut client, None).await.unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated, "{status:?}");
    assert_eq!(challenge(&status), Some("Bearer"));
    assert_eq!(
        status.message(),
        "an ID token is required (Authorization: Bearer)"
    );

    // A login an hour old on a five-minute route: the RFC 9470 step-up
    // challenge, max_age included, so the client knows what to ask for.
    let stale = issuer.token().auth_time_ago(3600).sign();
    let status = check(&mut client, Some(&stale)).await.unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated, "{status:?}");
    let c = challenge(&status).unwrap();
    assert!(
        c.starts_with("Bearer") && c.contains("error=\"insufficient_user_authentication\""),
        "{c}"
    );
    assert!(c.contains("max_age=\"300\""), "{c}");
    assert_eq!(status.metadata().get("cache-control").unwrap(), "no-store");

    // A bad signature: UNAUTHENTICATED, invalid_token.
    let forged = format!("{}x", issuer.token().sign());
    let status = check(&mut client, Some(&forged)).await.unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated, "{status:?}");
    assert!(challenge(&status).unwrap().contains("invalid_token"));

    // A fresh login passes, and the service sees the verified token.
    let fresh = issuer.token().sign();
    let response = check(&mut client, Some(&fresh)).await.unwrap();
    assert_eq!(response.metadata().get("x-subject").unwrap(), "user-1");
    assert_eq!(response.get_ref().status(), ServingStatus::Serving.into());
}

#[tokio::test]
async fn grpc_permission_denied_and_unavailable() {
    let issuer = TestIssuer::start().await;
    let mut client = grpc(ReauthLayer::new(issuer.verifier().await, five_minutes())).await;

    // A user who cannot re-authenticate on a max_age route: 403, so
    // PERMISSION_DENIED (stepping up would not help).
    let cannot = issuer.token().can_reauthenticate(false).sign();
    let status = check(&mut client, Some(&cannot)).await.unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied, "{status:?}");

    // The issuer's keys cannot be fetched: 503, so UNAVAILABLE, with
    // Retry-After.
    let down = TestIssuer::start().await;
    down.set_jwks_behavior(Behavior::Status(500));
    let verifier = Verifier::discover(down.config().build().unwrap())
        .await
        .unwrap();
    let mut client = grpc(ReauthLayer::new(verifier, five_minutes())).await;
    let status = check(&mut client, Some(&down.token().sign()))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unavailable, "{status:?}");
    assert_eq!(status.metadata().get("retry-after").unwrap(), "5");
    assert_eq!(challenge(&status), None);
}

async fn delete_account(Extension(user): Extension<Verified>) -> String {
    format!("deleted {}", user.subject())
}

async fn delete_account_extractor(user: reauth::axum::Reauthenticated) -> String {
    format!("deleted {}", user.subject())
}

async fn maybe(user: Option<Extension<Verified>>) -> String {
    match user {
        Some(Extension(u)) => format!("hello {}", u.subject()),
        None => "hello, guest".to_owned(),
    }
}

/// What a client acts on, and the body.
#[derive(Debug, PartialEq)]
struct Seen {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

async fn seen(router: Router, token: Option<&str>, content_type: Option<&str>) -> Seen {
    let version = match content_type {
        Some(_) => http::Version::HTTP_2,
        None => http::Version::HTTP_11,
    };
    seen_as(router, token, content_type, version).await
}

async fn seen_as(
    router: Router,
    token: Option<&str>,
    content_type: Option<&str>,
    version: http::Version,
) -> Seen {
    let mut req = http::Request::post("/account/delete").version(version);
    if let Some(t) = token {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    if let Some(c) = content_type {
        req = req.header("content-type", c);
    }
    let res = router
        .oneshot(req.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let mut headers: Vec<(String, String)> = res
        .headers()
        .iter()
        .filter(|(n, _)| n.as_str() != "content-length")
        .map(|(n, v)| (n.to_string(), v.to_str().unwrap().to_owned()))
        .collect();
    headers.sort();
    Seen {
        status: res.status().as_u16(),
        headers,
        body: res.into_body().collect().await.unwrap().to_bytes().to_vec(),
    }
}

/// The same route twice: behind the layer, and with the axum extractor.
fn routers(verifier: &Verifier, renderer: Option<&ErrorRenderer>) -> (Router, Router) {
    let mut layer = ReauthLayer::new(verifier.clone(), five_minutes());
    let mut extractor = Router::new()
        .route("/account/delete", post(delete_account_extractor))
        .layer(Extension(five_minutes()));
    if let Some(r) = renderer {
        layer = layer.error_renderer(r.clone());
        extractor = extractor.layer(Extension(r.clone()));
    }
    let guarded = Router::new()
        .route("/account/delete", post(delete_account))
        .layer(layer);
    (guarded, extractor.with_state(verifier.clone()))
}

#[tokio::test]
async fn an_axum_router_behind_the_layer_answers_as_the_extractor_does() {
    let issuer = TestIssuer::start().await;
    let verifier = issuer.verifier().await;
    // Keys unavailable: a verifier whose issuer's JWKS endpoint fails.
    let down = TestIssuer::start().await;
    down.set_jwks_behavior(Behavior::Status(500));
    let down_verifier = Verifier::discover(down.config().build().unwrap())
        .await
        .unwrap();
    for renderer in [None, Some(ErrorRenderer::problem_json())] {
        let (guarded, extractor) = routers(&verifier, renderer.as_ref());
        let fresh = issuer.token().sign();
        let stale = issuer.token().auth_time_ago(3600).sign();
        let cannot = issuer.token().can_reauthenticate(false).sign();
        let forged = format!("{fresh}x");
        for token in [
            None,
            Some(&stale),
            Some(&cannot),
            Some(&forged),
            Some(&fresh),
        ] {
            let token = token.map(String::as_str);
            let by_layer = seen(guarded.clone(), token, None).await;
            let by_extractor = seen(extractor.clone(), token, None).await;
            assert_eq!(by_layer, by_extractor);
        }
        let ok = seen(guarded.clone(), Some(&fresh), None).await;
        assert_eq!(
            (ok.status, ok.body.as_slice()),
            (200, &b"deleted user-1"[..])
        );
        let no_token = seen(guarded, None, None).await;
        assert_eq!(no_token.status, 401);
        assert!(
            no_token
                .headers
                .contains(&("www-authenticate".into(), "Bearer".into()))
        );

        // The same 503, Retry-After and body.
        let (guarded, extractor) = routers(&down_verifier, renderer.as_ref());
        let token = down.token().sign();
        let by_layer = seen(guarded, Some(&token), None).await;
        assert_eq!(by_layer.status, 503);
        assert_eq!(by_layer, seen(extractor, Some(&token), None).await);
    }
}

#[tokio::test]
async fn a_grpc_request_to_an_axum_router_gets_a_grpc_status() {
    let issuer = TestIssuer::start().await;
    let guarded = Router::new()
        .route("/account/delete", post(delete_account))
        .layer(ReauthLayer::new(issuer.verifier().await, five_minutes()));
    let stale = issuer.token().auth_time_ago(3600).sign();
    let res = seen(
        guarded.clone(),
        Some(&stale),
        Some("application/grpc+proto"),
    )
    .await;
    let header = |name: &str| {
        res.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    };
    // Trailers-only: 200, no body, the status in the headers.
    assert_eq!((res.status, res.body.as_slice()), (200, &b""[..]));
    assert_eq!(header("content-type"), Some("application/grpc"));
    assert_eq!(header("grpc-status"), Some("16"));
    assert!(header("grpc-message").is_some_and(|m| !m.is_empty()));
    assert!(
        header("www-authenticate")
            .unwrap()
            .contains("insufficient_user_authentication")
    );

    // gRPC is HTTP/2: an HTTP/1.1 request that claims to be gRPC keeps the
    // HTTP refusal, never a 200 (a proxy that allows on 2xx, asking over
    // HTTP/1, must not be told 200 for a refused request).
    let res = seen_as(
        guarded,
        Some(&stale),
        Some("application/grpc"),
        http::Version::HTTP_11,
    )
    .await;
    assert_eq!(res.status, 401);
    assert!(!res.headers.iter().any(|(n, _)| n == "grpc-status"));
}

#[tokio::test]
async fn optional_lets_anonymous_requests_in_but_never_a_bad_token() {
    let issuer = TestIssuer::start().await;
    let router = Router::new()
        .route("/account/delete", post(maybe))
        .layer(ReauthLayer::optional(
            issuer.verifier().await,
            Requirement::none(),
        ));
    let guest = seen(router.clone(), None, None).await;
    assert_eq!(
        (guest.status, guest.body.as_slice()),
        (200, &b"hello, guest"[..])
    );
    let user = seen(router.clone(), Some(&issuer.token().sign()), None).await;
    assert_eq!(
        (user.status, user.body.as_slice()),
        (200, &b"hello user-1"[..])
    );
    let forged = format!("{}x", issuer.token().sign());
    assert_eq!(seen(router.clone(), Some(&forged), None).await.status, 401);
    // A credential that holds no token is not anonymous.
    let basic = router
        .oneshot(
            http::Request::post("/account/delete")
                .header("authorization", "Basic dXNlcjpwdw==")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(basic.status(), 401);
}

#[tokio::test]
async fn a_plain_hyper_service_with_a_header_token_source() {
    let issuer = TestIssuer::start().await;
    let inner = tower::service_fn(|req: http::Request<hyper::body::Incoming>| async move {
        let subject = req
            .extensions()
            .get::<Verified>()
            .unwrap()
            .subject()
            .to_owned();
        Ok::<_, Infallible>(http::Response::new(Full::new(bytes(subject))))
    });
    let service = ReauthLayer::new(issuer.verifier().await, Requirement::none())
        .token_source(TokenSource::Header("x-id-token".into()))
        .layer(inner);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            let service = hyper_util::service::TowerToHyperService::new(service.clone());
            tokio::spawn(
                hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), service),
            );
        }
    });
    let client = reqwest::Client::new();
    let ok = client
        .get(format!("http://{addr}/"))
        .header("x-id-token", issuer.token().sign())
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    assert_eq!(ok.text().await.unwrap(), "user-1");
    let refused = client.get(format!("http://{addr}/")).send().await.unwrap();
    assert_eq!(refused.status(), 401);
    assert_eq!(refused.headers()["cache-control"], "no-store");
    assert_eq!(refused.headers()["content-type"], "application/json");
    let body: serde_json::Value = serde_json::from_str(&refused.text().await.unwrap()).unwrap();
    assert_eq!(body["error"], "missing_token");
}

fn bytes(s: String) -> Bytes {
    Bytes::from(s)
}

/// A service that must be polled ready before each call, by the very
/// instance that is called (like a connection taken from a pool): a
/// clone is not ready.
struct ReadyOnce {
    ready: bool,
}

impl Clone for ReadyOnce {
    fn clone(&self) -> Self {
        Self { ready: false }
    }
}

impl Service<http::Request<Body>> for ReadyOnce {
    type Response = http::Response<Body>;
    type Error = &'static str;
    type Future = std::future::Ready<Result<http::Response<Body>, &'static str>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), &'static str>> {
        self.ready = true;
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _: http::Request<Body>) -> Self::Future {
        let was_ready = std::mem::replace(&mut self.ready, false);
        std::future::ready(if was_ready {
            Ok(http::Response::new(Body::empty()))
        } else {
            Err("called without poll_ready")
        })
    }
}

#[tokio::test]
async fn the_instance_polled_ready_serves_the_call() {
    let issuer = TestIssuer::start().await;
    let mut service = ReauthLayer::new(issuer.verifier().await, Requirement::none())
        .layer(ReadyOnce { ready: false });
    for _ in 0..3 {
        let req = http::Request::get("/")
            .header("authorization", format!("Bearer {}", issuer.token().sign()))
            .body(Body::empty())
            .unwrap();
        let res = service.ready().await.unwrap().call(req).await.unwrap();
        assert_eq!(res.status(), 200);
    }
}

/// `cargo run --example tonic`, as a newcomer runs it: its three calls
/// (no token, a stale login, a fresh one) get what its doc says.
#[test]
fn the_tonic_example_runs() {
    use std::io::{BufRead, BufReader};
    // `cargo test` builds the examples beside the test binaries' `deps/`.
    let test_binary = std::env::current_exe().unwrap();
    let example = test_binary
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .join("examples/tonic");
    assert!(
        example.exists(),
        "{} not built: run `cargo test` or `cargo build --example tonic --features tower,testing`",
        example.display()
    );
    struct Killed(std::process::Child);
    impl Drop for Killed {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let mut child = Killed(
        std::process::Command::new(example)
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let stdout = BufReader::new(child.0.stdout.take().unwrap());
    let lines: Vec<String> = stdout
        .lines()
        .map(Result::unwrap)
        .take_while(|l| !l.starts_with("serving"))
        .collect();
    let line = |prefix: &str| {
        lines
            .iter()
            .find(|l| l.starts_with(prefix))
            .unwrap_or_else(|| panic!("no `{prefix}` line in {lines:#?}"))
    };
    assert!(line("no token:").contains("Unauthenticated"));
    assert!(line("stale login:").contains("insufficient_user_authentication"));
    assert_eq!(line("fresh login:"), "fresh login: OK, Serving");
}

/// The browser step-up reaches the tower layer through the shared refusal
/// path (a `BrowserHook`), as it reaches the actix and axum extractors: a
/// stale login on a browser navigation is sent to the issuer with the
/// route's `max_age`; an API client keeps the RFC 9470 challenge.
#[tokio::test]
async fn a_browser_hook_sends_refused_navigations_to_the_issuer() {
    use std::sync::Arc;

    use reauth::stepup::StepUp;

    let issuer = TestIssuer::start().await;
    let verifier = issuer.verifier().await;
    let config = issuer
        .step_up_config("http://127.0.0.1:9/callback")
        .build()
        .unwrap();
    let step = StepUp::new(verifier.clone(), config).unwrap();
    let session = step.token_source();
    let app = Router::new()
        .route("/account/delete", post(delete_account).get(delete_account))
        .layer(ReauthLayer::new(verifier, five_minutes()).browser_hook(Arc::new(step)));
    let stale = issuer.token().auth_time_ago(3600).sign();
    let TokenSource::Cookie(name) = session else {
        panic!("the step-up's session is a cookie");
    };
    let request = |accept: &str| {
        http::Request::get("/account/delete")
            .header("accept", accept)
            .header("cookie", format!("{name}={stale}"))
            .body(Body::empty())
            .unwrap()
    };
    let browser = app.clone().oneshot(request("text/html")).await.unwrap();
    assert_eq!(browser.status(), 302);
    let location = browser.headers()["location"].to_str().unwrap();
    assert!(
        location.starts_with(&issuer.url("/authorize")),
        "{location}"
    );
    assert!(location.contains("max_age=300"), "{location}");
    assert!(browser.headers().contains_key("set-cookie"));
    let api = app.oneshot(request("application/json")).await.unwrap();
    assert_eq!(api.status(), 401);
    assert!(
        api.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("insufficient_user_authentication")
    );
}
