//! DPoP against a real OpenID provider (npm `oidc-provider`, its DPoP
//! feature on): DPoP-bound RFC 9068 access tokens issued by its token
//! endpoint, proofs made here, checked by the verifier with freshness.
#![cfg(feature = "testing")]

mod support;

use std::time::Duration;

use reauth::testing::DpopKey;
use reauth::{
    ClaimsMap, DpopPresentation, Freshness, Requirement, TokenKind, Verifier, VerifierConfig,
};
use serde_json::{Value, json};
use support::provider::Provider;

const API: &str = "https://api.example.com";

/// A DPoP-bound access token from the provider's token endpoint.
async fn bound_token(provider: &Provider, key: &DpopKey) -> String {
    let token_url = format!("{}/token", provider.issuer);
    let proof = key
        .proof("POST", &token_url, "")
        .claim("ath", Value::Null)
        .sign();
    let res = reqwest::Client::new()
        .post(&token_url)
        .basic_auth("dpop-client", Some("dpop-client-secret-0123456789"))
        .header("dpop", proof)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!(
            "grant_type=client_credentials&resource={}&scope=api",
            url::form_urlencoded::byte_serialize(API.as_bytes()).collect::<String>()
        ))
        .send()
        .await
        .unwrap();
    let status = res.status();
    let body: Value = res.json().await.unwrap();
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["token_type"], "DPoP", "{body}");
    body["access_token"].as_str().unwrap().to_owned()
}

fn presented(proof: String, method: &str, path: &str) -> DpopPresentation {
    DpopPresentation {
        proofs: vec![proof],
        method: method.into(),
        origin: API.into(),
        path: path.into(),
    }
}

#[tokio::test]
async fn dpop_bound_tokens_from_oidc_provider() {
    if Provider::available().is_none() {
        return;
    }
    let provider = Provider::start("app", None, "http://127.0.0.1:9/cb");
    let verifier = Verifier::discover(
        VerifierConfig::builder(provider.issuer.clone())
            .audience(API)
            .token_kind(TokenKind::AccessToken)
            .public_origin(API)
            .build()
            .unwrap(),
    )
    .await
    .unwrap();
    let key = DpopKey::es256();
    let token = bound_token(&provider, &key).await;
    let fresh = Requirement::max_age(Duration::from_secs(300));
    let url = format!("{API}/payouts");
    // A valid proof passes and carries freshness.
    let ok = verifier
        .verify_presented_as::<ClaimsMap>(
            &token,
            Some(&presented(
                key.proof("POST", &url, &token).sign(),
                "POST",
                "/payouts",
            )),
            &fresh,
        )
        .await
        .unwrap();
    assert_eq!(ok.freshness, Freshness::Fresh);
    assert_eq!(ok.extra["cnf"]["jkt"], key.thumbprint());
    // Each bad proof is refused.
    let other = DpopKey::es256();
    let mut private = key.public_jwk();
    private["d"] = json!("AAAA");
    let replayed = key.proof("POST", &url, &token).sign();
    verifier
        .verify_presented_as::<ClaimsMap>(
            &token,
            Some(&presented(replayed.clone(), "POST", "/payouts")),
            &fresh,
        )
        .await
        .unwrap();
    let now = chrono::Utc::now().timestamp();
    for (what, proof) in [
        ("wrong htm", key.proof("GET", &url, &token).sign()),
        (
            "wrong htu",
            key.proof("POST", &format!("{API}/other"), &token).sign(),
        ),
        ("wrong ath", key.proof("POST", &url, "another-token").sign()),
        ("wrong key", other.proof("POST", &url, &token).sign()),
        ("replayed jti", replayed),
        (
            "stale iat",
            key.proof("POST", &url, &token)
                .claim("iat", json!(now - 600))
                .sign(),
        ),
        (
            "a private key member",
            key.proof("POST", &url, &token)
                .header("jwk", private)
                .sign(),
        ),
        (
            "alg HS256",
            key.proof("POST", &url, &token)
                .header("alg", json!("HS256"))
                .sign(),
        ),
        (
            "alg none",
            key.proof("POST", &url, &token)
                .header("alg", json!("none"))
                .sign(),
        ),
    ] {
        let e = verifier
            .verify_presented_as::<ClaimsMap>(
                &token,
                Some(&presented(proof, "POST", "/payouts")),
                &fresh,
            )
            .await
            .unwrap_err();
        assert_eq!(e.code(), "invalid_dpop_proof", "{what}: {e}");
        assert!(
            e.www_authenticate()
                .unwrap()
                .starts_with("DPoP error=\"invalid_dpop_proof\""),
            "{what}"
        );
    }
    // The bound token as Bearer.
    let e = verifier
        .verify_presented_as::<ClaimsMap>(&token, None, &fresh)
        .await
        .unwrap_err();
    assert!(
        e.www_authenticate()
            .unwrap()
            .starts_with("DPoP error=\"invalid_token\""),
        "{e}"
    );
    // A stale login on a max_age route: the RFC 9470 challenge in the DPoP scheme.
    provider.next_login(json!({"auth_time": now - 3600})).await;
    let stale = bound_token(&provider, &key).await;
    let e = verifier
        .verify_presented_as::<ClaimsMap>(
            &stale,
            Some(&presented(
                key.proof("POST", &url, &stale).sign(),
                "POST",
                "/payouts",
            )),
            &fresh,
        )
        .await
        .unwrap_err();
    assert_eq!(e.code(), "authentication_too_old");
    let challenge = e.www_authenticate().unwrap();
    assert!(
        challenge.starts_with("DPoP error=\"insufficient_user_authentication\"")
            && challenge.contains("max_age=\"300\""),
        "{challenge}"
    );
}
