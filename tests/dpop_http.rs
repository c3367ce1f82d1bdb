//! DPoP (RFC 9449) and protected-resource metadata (RFC 9728) over real
//! HTTP: the actix and axum extractors, the tower layer's answer, and
//! `reauth serve` behind a proxy (the original request's URL from
//! `--public-url`), against a real test issuer on loopback.
#![cfg(all(feature = "cli", feature = "axum", feature = "actix"))]

mod support;

use std::time::Duration;

use reauth::testing::{DpopKey, TestIssuer};
use reauth::{DpopPolicy, ProtectedResourceMetadata, Requirement, Verifier};
use serde_json::Value;
use support::serve;

struct Reply {
    status: u16,
    challenge: Option<String>,
    nonce: Option<String>,
    body: String,
}

async fn send(url: &str, method: reqwest::Method, headers: &[(&str, String)]) -> Reply {
    let mut req = reqwest::Client::new().request(method, url);
    for (k, v) in headers {
        req = req.header(*k, v);
    }
    let res = req.send().await.unwrap();
    let h = |n: &str| res.headers().get(n).map(|v| v.to_str().unwrap().to_owned());
    let (challenge, nonce) = (h("www-authenticate"), h("dpop-nonce"));
    Reply {
        status: res.status().as_u16(),
        challenge,
        nonce,
        body: res.text().await.unwrap(),
    }
}

fn dpop(token: &str, proof: String) -> Vec<(&'static str, String)> {
    vec![("authorization", format!("DPoP {token}")), ("dpop", proof)]
}

async fn ok(user: reauth::axum::Reauthenticated) -> String {
    user.subject().to_owned()
}

async fn actix_ok(user: reauth::actix::Reauthenticated) -> actix_web::HttpResponse {
    actix_web::HttpResponse::Ok().body(user.subject().to_owned())
}

#[tokio::test]
async fn the_axum_extractor_takes_dpop_and_serves_the_metadata() {
    use axum::routing::{get, post};
    use axum::{Extension, Router};
    let issuer = TestIssuer::start().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let origin = format!("http://{}", listener.local_addr().unwrap());
    let verifier = Verifier::discover(
        issuer
            .config()
            .public_origin(origin.clone())
            .resource_metadata(format!("{origin}{}", reauth::METADATA_PATH))
            .build()
            .unwrap(),
    )
    .await
    .unwrap();
    let metadata = ProtectedResourceMetadata::builder(origin.clone())
        .authorization_servers_of(&verifier.clone().into())
        .dpop_bound_access_tokens_required(true)
        .build()
        .unwrap();
    let app = Router::new()
        .route(
            "/payouts",
            post(ok).layer(Extension(
                Requirement::max_age(Duration::from_secs(300)).dpop(DpopPolicy::Required),
            )),
        )
        .route(
            reauth::METADATA_PATH,
            get(reauth::axum::protected_resource_metadata),
        )
        .layer(Extension(metadata))
        .with_state(verifier);
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let key = DpopKey::es256();
    let token = issuer.token().claim("cnf", key.cnf()).sign();
    let url = format!("{origin}/payouts");
    let proof = key.proof("POST", &url, &token).sign();
    let r = send(&url, reqwest::Method::POST, &dpop(&token, proof.clone())).await;
    assert_eq!((r.status, r.body.as_str()), (200, "user-1"));
    // Replayed proof, bearer presentation, stale login: each in the DPoP scheme.
    let r = send(&url, reqwest::Method::POST, &dpop(&token, proof)).await;
    assert_eq!(r.status, 401);
    let challenge = r.challenge.unwrap();
    assert!(
        challenge.starts_with("DPoP error=\"invalid_dpop_proof\""),
        "{challenge}"
    );
    assert!(
        challenge.contains(&format!(
            "resource_metadata=\"{origin}/.well-known/oauth-protected-resource\""
        )),
        "{challenge}"
    );
    let r = send(
        &url,
        reqwest::Method::POST,
        &[("authorization", format!("Bearer {token}"))],
    )
    .await;
    assert!(
        r.challenge
            .unwrap()
            .starts_with("DPoP error=\"invalid_token\"")
    );
    let stale = issuer
        .token()
        .claim("cnf", key.cnf())
        .auth_time_ago(3600)
        .sign();
    let proof = key.proof("POST", &url, &stale).sign();
    let r = send(&url, reqwest::Method::POST, &dpop(&stale, proof)).await;
    let challenge = r.challenge.unwrap();
    assert!(
        challenge.starts_with("DPoP error=\"insufficient_user_authentication\"")
            && challenge.contains("max_age=\"300\""),
        "{challenge}"
    );
    // No token at all: told to use DPoP, and where the metadata is (RFC 9728 §5.1).
    let r = send(&url, reqwest::Method::POST, &[]).await;
    assert_eq!(r.status, 401);
    let challenge = r.challenge.unwrap();
    assert!(challenge.starts_with("DPoP algs=\""), "{challenge}");
    assert!(
        challenge.contains(&format!(
            "resource_metadata=\"{origin}/.well-known/oauth-protected-resource\""
        )),
        "{challenge}"
    );
    // The metadata.
    let r = send(
        &format!("{origin}{}", reauth::METADATA_PATH),
        reqwest::Method::GET,
        &[],
    )
    .await;
    assert_eq!(r.status, 200);
    let doc: Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(doc["resource"], origin.as_str());
    assert_eq!(doc["authorization_servers"][0], issuer.issuer());
    assert_eq!(doc["dpop_bound_access_tokens_required"], true);
    assert!(
        doc["dpop_signing_alg_values_supported"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a == "ES256")
    );
}

#[tokio::test]
async fn the_actix_extractor_takes_dpop_with_the_request_own_origin() {
    use actix_web::{App, HttpServer, web};
    let issuer = TestIssuer::start().await;
    let verifier = issuer.verifier().await;
    let metadata = ProtectedResourceMetadata::builder("https://api.example.com")
        .authorization_server(issuer.issuer())
        .build()
        .unwrap();
    let server = HttpServer::new(move || {
        App::new()
            .app_data(verifier.clone())
            .app_data(Requirement::none())
            .app_data(metadata.clone())
            .route("/me", web::get().to(actix_ok))
            .route(
                reauth::METADATA_PATH,
                web::get().to(reauth::actix::protected_resource_metadata),
            )
    })
    .workers(1)
    .bind(("127.0.0.1", 0))
    .unwrap();
    let origin = format!("http://{}", server.addrs()[0]);
    tokio::spawn(server.run());
    let key = DpopKey::es256();
    let token = issuer.token().claim("cnf", key.cnf()).sign();
    let url = format!("{origin}/me");
    let r = send(
        &url,
        reqwest::Method::GET,
        &dpop(&token, key.proof("GET", &url, &token).sign()),
    )
    .await;
    assert_eq!((r.status, r.body.as_str()), (200, "user-1"));
    // The query is no part of htu (RFC 9449 §4.3).
    let r = send(
        &format!("{url}?page=2"),
        reqwest::Method::GET,
        &dpop(&token, key.proof("GET", &url, &token).sign()),
    )
    .await;
    assert_eq!(r.status, 200);
    let r = send(
        &url,
        reqwest::Method::GET,
        &dpop(&token, key.proof("POST", &url, &token).sign()),
    )
    .await;
    assert_eq!(r.status, 401);
    let r = send(
        &format!("{origin}{}", reauth::METADATA_PATH),
        reqwest::Method::GET,
        &[],
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.nonce.is_none(), "nonces are off here: no DPoP-Nonce");
}

#[tokio::test]
async fn the_gate_checks_proofs_against_the_original_request() {
    let issuer = TestIssuer::start().await;
    let nonce_key =
        std::env::temp_dir().join(format!("reauth-dpop-nonce-{}", support::free_port()));
    std::fs::write(&nonce_key, [9u8; 32]).unwrap();
    let policy =
        std::env::temp_dir().join(format!("reauth-dpop-policy-{}.toml", support::free_port()));
    std::fs::write(
        &policy,
        "unmatched = \"verify\"\n[[route]]\nname = \"payouts\"\npath = \"/payouts\"\ndpop = \"required\"\n",
    )
    .unwrap();
    let public = "https://app.example.com";
    let g = serve(
        &issuer,
        &[
            "--public-url",
            public,
            "--config",
            policy.to_str().unwrap(),
            "--dpop-nonce-key-file",
            nonce_key.to_str().unwrap(),
        ],
    )
    .await;
    let key = DpopKey::es256();
    let token = issuer.token().claim("cnf", key.cnf()).sign();
    let original = |method: &str, uri: &str| {
        vec![
            ("x-original-method", method.to_owned()),
            ("x-original-uri", uri.to_owned()),
            ("x-original-host", "app.example.com".to_owned()),
        ]
    };
    let verify = format!("{}/verify", g.base);
    let call = |proof: String, method: &'static str, uri: &'static str| {
        let mut h = original(method, uri);
        h.extend(dpop(&token, proof));
        let verify = verify.clone();
        async move { send(&verify, reqwest::Method::GET, &h).await }
    };
    // Nonces are on: the first proof gets use_dpop_nonce and a nonce.
    let r = call(
        key.proof("POST", &format!("{public}/payouts"), &token)
            .sign(),
        "POST",
        "/payouts",
    )
    .await;
    assert_eq!(r.status, 401);
    assert!(
        r.challenge
            .unwrap()
            .starts_with("DPoP error=\"use_dpop_nonce\"")
    );
    let nonce = r.nonce.expect("a DPoP-Nonce header");
    let proof = |m: &str, u: &str| {
        key.proof(m, u, &token)
            .claim("nonce", serde_json::json!(nonce))
            .sign()
    };
    let r = call(
        proof("POST", &format!("{public}/payouts")),
        "POST",
        "/payouts?x=1",
    )
    .await;
    assert_eq!(r.status, 200, "{:?} {}", r.challenge, r.body);
    // htu names the public URL, never the gate's own address.
    let r = call(
        proof("POST", &format!("{}/payouts", g.base)),
        "POST",
        "/payouts",
    )
    .await;
    assert_eq!(r.status, 401);
    // The route requires DPoP: an unbound bearer token is refused with a DPoP challenge.
    let plain = issuer.token().sign();
    let mut h = original("POST", "/payouts");
    h.push(("authorization", format!("Bearer {plain}")));
    let r = send(&verify, reqwest::Method::GET, &h).await;
    assert_eq!(r.status, 401);
    let challenge = r.challenge.unwrap();
    assert!(challenge.starts_with("DPoP "), "{challenge}");
    assert!(
        challenge.contains(
            "resource_metadata=\"https://app.example.com/.well-known/oauth-protected-resource\""
        ),
        "{challenge}"
    );
    // No token on that route: a DPoP challenge naming the metadata.
    let r = send(&verify, reqwest::Method::GET, &original("POST", "/payouts")).await;
    assert_eq!(r.status, 401);
    let challenge = r.challenge.unwrap();
    assert!(
        challenge.starts_with("DPoP algs=") && challenge.contains("resource_metadata="),
        "{challenge}"
    );
    // Elsewhere bearer tokens still work.
    let mut h = original("GET", "/other");
    h.push(("authorization", format!("Bearer {plain}")));
    assert_eq!(send(&verify, reqwest::Method::GET, &h).await.status, 200);
    // The gate's metadata.
    let r = send(
        &format!("{}{}", g.base, reauth::METADATA_PATH),
        reqwest::Method::GET,
        &[],
    )
    .await;
    let doc: Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(
        (
            doc["resource"].as_str(),
            doc["authorization_servers"][0].as_str()
        ),
        (Some(public), Some(issuer.issuer()))
    );
}

#[tokio::test]
async fn a_proof_used_at_one_gate_is_a_replay_at_another_sharing_redis() {
    let Some(redis) = support::Redis::start() else {
        return;
    };
    let issuer = TestIssuer::start().await;
    let public = "https://app.example.com";
    let args = ["--public-url", public, "--redis", &redis.url()];
    let g1 = serve(&issuer, &args).await;
    let g2 = serve(&issuer, &args).await;
    let key = DpopKey::es256();
    let token = issuer.token().claim("cnf", key.cnf()).sign();
    let proof = key
        .proof("POST", &format!("{public}/payouts"), &token)
        .sign();
    let mut headers = vec![
        ("x-original-method", "POST".to_owned()),
        ("x-original-uri", "/payouts".to_owned()),
        ("x-original-host", "app.example.com".to_owned()),
    ];
    headers.extend(dpop(&token, proof));
    let first = send(
        &format!("{}/verify", g1.base),
        reqwest::Method::GET,
        &headers,
    )
    .await;
    assert_eq!(first.status, 200, "{}", first.body);
    let again = send(
        &format!("{}/verify", g2.base),
        reqwest::Method::GET,
        &headers,
    )
    .await;
    assert_eq!(
        again.status, 401,
        "the other gate saw the proof: {}",
        again.body
    );
    assert!(again.body.contains("invalid_dpop_proof"), "{}", again.body);
}
