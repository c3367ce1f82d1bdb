//! actix-web adapter end to end: a real HttpServer on 127.0.0.1:0, a real
//! client, the real test issuer.
#![cfg(feature = "actix")]

use std::time::Duration;

use actix_web::{App, HttpResponse, HttpServer, middleware, web};
use reauth::actix::{FreshWithin, Reauthenticated, require};
use reauth::testing::{Behavior, TestIssuer};
use reauth::{ReauthPolicy, Requirement, TokenSource, Verified, Verifier};
use serde_json::{Value, json};

fn mins(m: u64) -> Requirement {
    Requirement::max_age(Duration::from_secs(m * 60))
}

async fn ok(user: Reauthenticated) -> HttpResponse {
    HttpResponse::Ok().json(json!({"sub": user.subject(), "freshness": user.freshness.as_str()}))
}

async fn fresh_300(user: FreshWithin<300>) -> HttpResponse {
    HttpResponse::Ok().body(user.subject().to_owned())
}

#[derive(serde::Deserialize)]
struct Tenant {
    tenant: String,
}

async fn typed(user: Reauthenticated<Tenant>) -> HttpResponse {
    HttpResponse::Ok().body(user.extra.tenant.clone())
}

async fn from_middleware(v: web::ReqData<Verified>) -> HttpResponse {
    HttpResponse::Ok().body(v.claims.sub.clone())
}

fn routes(cfg: &mut web::ServiceConfig) {
    cfg.app_data(mins(60))
        .route("/app-level", web::post().to(ok))
        .route("/fresh300", web::post().to(fresh_300))
        .route("/typed", web::post().to(typed))
        .service(
            web::scope("/scope")
                .app_data(mins(10))
                .route("/scope-level", web::post().to(ok))
                .service(
                    web::resource("/resource-level")
                        .app_data(mins(1))
                        .route(web::post().to(ok)),
                )
                .service(
                    web::resource("/allow")
                        .app_data(mins(1).when_cannot_reauthenticate(ReauthPolicy::Allow))
                        .route(web::post().to(ok)),
                ),
        )
        .service(
            web::scope("/guarded")
                .app_data(mins(5))
                .wrap(middleware::from_fn(require))
                .route("/inner", web::post().to(from_middleware))
                // Security review finding 13: a Requirement below the
                // middleware is invisible to it...
                .service(
                    web::resource("/stricter")
                        .app_data(mins(1))
                        .route(web::post().to(from_middleware)),
                )
                // ...unless an extractor checks it.
                .service(
                    web::resource("/stricter-extractor")
                        .app_data(mins(1))
                        .route(web::post().to(ok)),
                ),
        )
        .service(
            web::resource("/resource-wrapped")
                .app_data(mins(1))
                .wrap(middleware::from_fn(require))
                .route(web::post().to(from_middleware)),
        )
        .service(
            web::scope("/custom-header")
                .app_data(TokenSource::Header("X-ID-Token".into()))
                .route("", web::post().to(ok)),
        )
        .service(
            web::scope("/cookie")
                .app_data(TokenSource::Cookie("id_token".into()))
                .route("", web::post().to(ok)),
        );
}

async fn spawn(verifier: Option<Verifier>) -> String {
    let server = HttpServer::new(move || {
        let app = App::new().configure(routes);
        match verifier.clone() {
            Some(v) => app.app_data(v),
            None => app.app_data(()),
        }
    })
    .workers(2)
    // Generous: a loaded CI machine must not turn slow reads into 408s.
    .client_request_timeout(std::time::Duration::from_secs(30))
    .bind(("127.0.0.1", 0))
    .unwrap();
    let addr = server.addrs()[0];
    tokio::spawn(server.run());
    format!("http://{addr}")
}

struct Reply {
    status: u16,
    challenge: Option<String>,
    body: String,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap()
    }
}

async fn post(url: String, headers: &[(&str, &str)]) -> Reply {
    let mut req = reqwest::Client::new().post(url);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let res = req.send().await.unwrap();
    Reply {
        status: res.status().as_u16(),
        challenge: res
            .headers()
            .get("www-authenticate")
            .map(|v| v.to_str().unwrap().to_owned()),
        body: res.text().await.unwrap(),
    }
}

async fn bearer(base: &str, path: &str, token: &str) -> Reply {
    post(
        format!("{base}{path}"),
        &[("authorization", &format!("Bearer {token}"))],
    )
    .await
}

#[actix_web::test]
async fn statuses_headers_and_bodies() {
    let issuer = TestIssuer::start().await;
    let base = spawn(Some(issuer.verifier().await)).await;

    let r = bearer(&base, "/app-level", &issuer.token().sign()).await;
    assert_eq!(
        (r.status, r.json()["freshness"].as_str()),
        (200, Some("fresh"))
    );

    let r = post(format!("{base}/app-level"), &[]).await;
    assert_eq!((r.status, r.challenge.as_deref()), (401, Some("Bearer")));
    assert_eq!(r.json()["error"], "missing_token");

    let forged = issuer
        .token()
        .key(&reauth::testing::TestKey::rsa("rsa-1"))
        .sign();
    let r = bearer(&base, "/app-level", &forged).await;
    assert_eq!(r.status, 401);
    assert!(
        r.challenge
            .as_deref()
            .unwrap()
            .starts_with("Bearer error=\"invalid_token\", error_description=")
    );
    assert_eq!(
        r.json(),
        json!({"error": "invalid_signature", "message": "signature does not verify"})
    );
    assert!(!r.body.contains(&forged[..40]), "the token is never echoed");

    let r = bearer(
        &base,
        "/app-level",
        &issuer.token().auth_time_ago(7200).sign(),
    )
    .await;
    assert_eq!(r.status, 401);
    // (The age in the description is measured on the real clock: 7200 or 7201 s.)
    let c = r.challenge.clone().unwrap();
    assert!(
        c.starts_with("Bearer error=\"insufficient_user_authentication\", error_description=\"authentication is 720")
            && c.ends_with(" s old; this operation allows 3600 s\", max_age=\"3600\""),
        "{c}"
    );
    assert_eq!(r.json()["error"], "authentication_too_old");

    let cannot = issuer
        .token()
        .auth_time_ago(7200)
        .can_reauthenticate(false)
        .sign();
    let r = bearer(&base, "/app-level", &cannot).await;
    assert_eq!(
        (r.status, r.challenge.clone(), r.json()["error"].as_str()),
        (403, None, Some("reauthentication_unavailable"))
    );
    let r = bearer(&base, "/scope/allow", &cannot).await;
    assert_eq!(
        (r.status, r.json()["freshness"].as_str()),
        (200, Some("unavailable"))
    );
}

#[actix_web::test]
async fn keys_unavailable_is_503_and_missing_verifier_is_500() {
    let issuer = TestIssuer::start().await;
    issuer.set_jwks_behavior(Behavior::Status(500));
    let base = spawn(Some(issuer.verifier().await)).await;
    let r = bearer(&base, "/app-level", &issuer.token().sign()).await;
    assert_eq!(
        (r.status, r.challenge.clone(), r.json()["error"].as_str()),
        (503, None, Some("keys_unavailable"))
    );

    let base = spawn(None).await;
    let r = bearer(&base, "/app-level", &issuer.token().sign()).await;
    assert_eq!(
        (r.status, r.json()["error"].as_str()),
        (500, Some("server_error"))
    );
}

#[actix_web::test]
async fn the_closest_requirement_wins() {
    let issuer = TestIssuer::start().await;
    let base = spawn(Some(issuer.verifier().await)).await;
    let two_min_old = issuer.token().auth_time_ago(120).sign();
    assert_eq!(
        bearer(&base, "/app-level", &two_min_old).await.status,
        200,
        "app: 60 min"
    );
    assert_eq!(
        bearer(&base, "/scope/scope-level", &two_min_old)
            .await
            .status,
        200,
        "scope: 10 min"
    );
    let r = bearer(&base, "/scope/resource-level", &two_min_old).await;
    assert_eq!(r.status, 401, "resource: 1 min");
    assert!(r.challenge.unwrap().ends_with("max_age=\"60\""));
    let twenty_min_old = issuer.token().auth_time_ago(1200).sign();
    assert_eq!(
        bearer(&base, "/scope/scope-level", &twenty_min_old)
            .await
            .status,
        401
    );
    assert_eq!(
        bearer(&base, "/app-level", &twenty_min_old).await.status,
        200
    );
    // The const-generic shorthand: 300 s whatever app data says.
    assert_eq!(bearer(&base, "/fresh300", &two_min_old).await.status, 200);
    let r = bearer(
        &base,
        "/fresh300",
        &issuer.token().auth_time_ago(400).sign(),
    )
    .await;
    assert!(r.challenge.unwrap().ends_with("max_age=\"300\""));
}

#[actix_web::test]
async fn scope_middleware() {
    let issuer = TestIssuer::start().await;
    let base = spawn(Some(issuer.verifier().await)).await;
    let r = bearer(&base, "/guarded/inner", &issuer.token().sign()).await;
    assert_eq!((r.status, r.body.as_str()), (200, "user-1"));
    let r = bearer(
        &base,
        "/guarded/inner",
        &issuer.token().auth_time_ago(600).sign(),
    )
    .await;
    assert_eq!(
        (r.status, r.json()["error"].as_str()),
        (401, Some("authentication_too_old"))
    );
    assert_eq!(post(format!("{base}/guarded/inner"), &[]).await.status, 401);

    // A login 2 min old passes the scope's 5 min but not the resource's 1 min.
    let two_min = issuer.token().auth_time_ago(120).sign();
    // Never a silent pass: the unenforced resource Requirement is a 500.
    let r = bearer(&base, "/guarded/stricter", &two_min).await;
    assert_eq!(
        (r.status, r.json()["error"].as_str()),
        (500, Some("server_error"))
    );
    // An extractor in the handler checks the closest Requirement: 401.
    let r = bearer(&base, "/guarded/stricter-extractor", &two_min).await;
    assert_eq!(
        (r.status, r.json()["error"].as_str()),
        (401, Some("authentication_too_old"))
    );
    let r = bearer(&base, "/guarded/stricter-extractor", &issuer.token().sign()).await;
    assert_eq!(r.status, 200);
    // Wrapped on the resource itself, the middleware sees its Requirement.
    let r = bearer(&base, "/resource-wrapped", &two_min).await;
    assert_eq!(
        (r.status, r.json()["error"].as_str()),
        (401, Some("authentication_too_old"))
    );
    let r = bearer(&base, "/resource-wrapped", &issuer.token().sign()).await;
    assert_eq!((r.status, r.body.as_str()), (200, "user-1"));
}

#[actix_web::test]
async fn custom_header_cookie_and_typed_claims() {
    let issuer = TestIssuer::start().await;
    let base = spawn(Some(issuer.verifier().await)).await;
    let t = issuer.token().sign();
    assert_eq!(
        post(format!("{base}/custom-header"), &[("x-id-token", &t)])
            .await
            .status,
        200
    );
    let bearer_there = post(
        format!("{base}/custom-header"),
        &[("authorization", &format!("Bearer {t}"))],
    )
    .await;
    assert_eq!(bearer_there.status, 401, "the scope reads X-ID-Token only");
    let cookie = format!("theme=dark; id_token={t}");
    assert_eq!(
        post(format!("{base}/cookie"), &[("cookie", &cookie)])
            .await
            .status,
        200
    );
    assert_eq!(
        post(format!("{base}/cookie"), &[("cookie", "id_token=")])
            .await
            .status,
        401
    );

    let r = bearer(
        &base,
        "/typed",
        &issuer.token().claim("tenant", "acme").sign(),
    )
    .await;
    assert_eq!((r.status, r.body.as_str()), (200, "acme"));
    let r = bearer(&base, "/typed", &issuer.token().sign()).await;
    assert_eq!(
        (r.status, r.json()["error"].as_str()),
        (401, Some("invalid_claim"))
    );
}

#[actix_web::test]
async fn concurrent_mixed_requests_get_their_own_answers() {
    let issuer = TestIssuer::start().await;
    let base = spawn(Some(issuer.verifier().await)).await;
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..120 {
        let (token, expected) = match i % 4 {
            0 => (issuer.token().claim("sub", format!("user-{i}")).sign(), 200),
            1 => (issuer.token().auth_time_ago(7200).sign(), 401),
            2 => (
                issuer
                    .token()
                    .key(&reauth::testing::TestKey::ec("ec-1"))
                    .sign(),
                401,
            ),
            _ => (
                issuer
                    .token()
                    .claim("sub", format!("user-{i}"))
                    .can_reauthenticate(false)
                    .auth_time_ago(7200)
                    .sign(),
                403,
            ),
        };
        let base = base.clone();
        tasks.spawn(async move {
            let r = bearer(&base, "/app-level", &token).await;
            assert_eq!(r.status, expected, "request {i}: {}", r.body);
            if expected == 200 {
                assert_eq!(r.json()["sub"], format!("user-{i}"));
            }
        });
    }
    while let Some(r) = tasks.join_next().await {
        r.unwrap();
    }
    assert_eq!(issuer.jwks_requests(), 1);
}
