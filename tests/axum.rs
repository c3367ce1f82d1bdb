//! axum adapter end to end: a real axum server on 127.0.0.1:0.
#![cfg(feature = "axum")]

use std::time::Duration;

use axum::routing::post;
use axum::{Extension, Router};
use reauth::axum::{FreshWithin, Reauthenticated};
use reauth::testing::{Behavior, TestIssuer, TestKey};
use reauth::{ReauthPolicy, Requirement, TokenSource, Verifier};

async fn ok(user: Reauthenticated) -> String {
    format!("{} {}", user.subject(), user.freshness.as_str())
}

async fn fresh(user: FreshWithin<300>) -> String {
    user.subject().to_owned()
}

async fn spawn(verifier: Verifier) -> String {
    let five = Requirement::max_age(Duration::from_secs(300));
    let app = Router::new()
        // Signature and claims only, asked for explicitly.
        .route("/any", post(ok).layer(Extension(Requirement::none())))
        .route("/sensitive", post(ok).layer(Extension(five.clone())))
        .route(
            "/allow",
            post(ok).layer(Extension(
                five.when_cannot_reauthenticate(ReauthPolicy::Allow),
            )),
        )
        .route("/fresh", post(fresh))
        .route(
            "/header",
            post(ok)
                .layer::<_, std::convert::Infallible>(Extension(TokenSource::Header(
                    "X-ID-Token".into(),
                )))
                .layer(Extension(Requirement::none())),
        )
        .with_state(verifier);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}")
}

async fn call(url: String, header: Option<(&str, String)>) -> (u16, Option<String>, String) {
    let mut req = reqwest::Client::new().post(url);
    if let Some((k, v)) = header {
        req = req.header(k, v);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    let challenge = res
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_owned());
    (status, challenge, res.text().await.unwrap())
}

fn bearer(t: &str) -> Option<(&'static str, String)> {
    Some(("authorization", format!("Bearer {t}")))
}

#[tokio::test]
async fn statuses_and_headers() {
    let issuer = TestIssuer::start().await;
    let base = spawn(issuer.verifier().await).await;
    let (s, _, body) = call(format!("{base}/sensitive"), bearer(&issuer.token().sign())).await;
    assert_eq!((s, body.as_str()), (200, "user-1 fresh"));
    let (s, c, _) = call(format!("{base}/sensitive"), None).await;
    assert_eq!((s, c.as_deref()), (401, Some("Bearer")));
    let (s, c, body) = call(
        format!("{base}/sensitive"),
        bearer(&issuer.token().auth_time_ago(3600).sign()),
    )
    .await;
    assert_eq!(s, 401);
    assert!(
        c.unwrap()
            .contains("error=\"insufficient_user_authentication\"")
    );
    assert!(
        body.contains("\"error\":\"authentication_too_old\""),
        "{body}"
    );
    let (s, _, body) = call(
        format!("{base}/any"),
        bearer(&issuer.token().auth_time_ago(3600).sign()),
    )
    .await;
    assert_eq!((s, body.as_str()), (200, "user-1 not_required"));
    let (s, c, _) = call(
        format!("{base}/any"),
        bearer(&issuer.token().key(&TestKey::rsa("rsa-1")).sign()),
    )
    .await;
    assert_eq!(s, 401);
    assert!(c.unwrap().starts_with("Bearer error=\"invalid_token\""));
    let cannot = issuer
        .token()
        .auth_time_ago(3600)
        .can_reauthenticate(false)
        .sign();
    let (s, c, _) = call(format!("{base}/sensitive"), bearer(&cannot)).await;
    assert_eq!((s, c), (403, None));
    let (s, _, body) = call(format!("{base}/allow"), bearer(&cannot)).await;
    assert_eq!((s, body.as_str()), (200, "user-1 unavailable"));
    let (s, c, _) = call(
        format!("{base}/fresh"),
        bearer(&issuer.token().auth_time_ago(400).sign()),
    )
    .await;
    assert_eq!(s, 401);
    assert!(c.unwrap().ends_with("max_age=\"300\""));
    let (s, _, _) = call(
        format!("{base}/header"),
        Some(("x-id-token", issuer.token().sign())),
    )
    .await;
    assert_eq!(s, 200);
}

#[tokio::test]
async fn keys_unavailable_is_503() {
    let issuer = TestIssuer::start().await;
    issuer.set_jwks_behavior(Behavior::Hang);
    let cfg = issuer
        .config()
        .http_timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let base = spawn(Verifier::discover(cfg).await.unwrap()).await;
    let (s, c, body) = call(format!("{base}/any"), bearer(&issuer.token().sign())).await;
    assert_eq!((s, c), (503, None));
    assert!(body.contains("keys_unavailable"));
}

#[tokio::test]
async fn concurrent_mixed_requests() {
    let issuer = TestIssuer::start().await;
    let base = spawn(issuer.verifier().await).await;
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..100 {
        let (token, expected) = if i % 2 == 0 {
            (issuer.token().claim("sub", format!("u{i}")).sign(), 200)
        } else {
            (issuer.token().auth_time_ago(3600).sign(), 401)
        };
        let url = format!("{base}/sensitive");
        tasks.spawn(async move {
            let (s, _, body) = call(url, bearer(&token)).await;
            assert_eq!(s, expected, "{i}");
            if s == 200 {
                assert_eq!(body, format!("u{i} fresh"));
            }
        });
    }
    while let Some(r) = tasks.join_next().await {
        r.unwrap();
    }
}
