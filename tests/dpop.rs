//! DPoP-bound tokens (RFC 9449) through the public API, against a real
//! test issuer on loopback, with proofs made here: each refusal with its
//! code and its challenge in the DPoP scheme, freshness and step-up in the
//! DPoP scheme (RFC 9470 §3), the memo, nonces, and RFC 9728 metadata.
#![cfg(feature = "testing")]

mod support;

use std::time::Duration;

use reauth::testing::{DpopKey, TestIssuer};
use reauth::{ClaimsMap, DpopPolicy, DpopPresentation, Requirement, Verifier, VerifyError};
use serde_json::json;

const ORIGIN: &str = "https://api.example.com";

fn presentation(proof: String, method: &str, path: &str) -> DpopPresentation {
    DpopPresentation {
        proofs: vec![proof],
        method: method.into(),
        origin: ORIGIN.into(),
        path: path.into(),
    }
}

async fn verify(
    v: &Verifier,
    token: &str,
    dpop: Option<&DpopPresentation>,
    req: &Requirement,
) -> Result<reauth::Verified<ClaimsMap>, VerifyError> {
    v.verify_presented_as::<ClaimsMap>(token, dpop, req).await
}

fn url(path: &str) -> String {
    format!("{ORIGIN}{path}")
}

#[tokio::test]
async fn a_valid_proof_passes_and_carries_freshness() {
    let issuer = TestIssuer::start().await;
    let v = issuer.verifier().await;
    let key = DpopKey::es256();
    let token = issuer
        .token()
        .claim("cnf", key.cnf())
        .auth_time_ago(10)
        .sign();
    let req = Requirement::max_age(Duration::from_secs(300));
    let proof = key.proof("POST", &url("/payouts"), &token).sign();
    let ok = verify(
        &v,
        &token,
        Some(&presentation(proof, "POST", "/payouts")),
        &req,
    )
    .await
    .unwrap();
    assert_eq!(ok.freshness, reauth::Freshness::Fresh);
    // The memo: the same token again needs a new proof, and passes with one.
    let proof = key.proof("POST", &url("/payouts"), &token).sign();
    verify(
        &v,
        &token,
        Some(&presentation(proof, "POST", "/payouts")),
        &req,
    )
    .await
    .unwrap();
    // An RSA key works too.
    let rsa = DpopKey::rs256();
    let token = issuer.token().claim("cnf", rsa.cnf()).sign();
    let proof = rsa.proof("GET", &url("/me"), &token).sign();
    verify(
        &v,
        &token,
        Some(&presentation(proof, "GET", "/me")),
        &Requirement::none(),
    )
    .await
    .unwrap();
}

#[tokio::test]
async fn each_bad_proof_is_refused_with_a_dpop_challenge() {
    let issuer = TestIssuer::start().await;
    let v = issuer.verifier().await;
    let key = DpopKey::es256();
    let other = DpopKey::es256();
    let token = issuer.token().claim("cnf", key.cnf()).sign();
    let p = |m: &str, u: &str| key.proof(m, u, &token);
    let mut private = key.public_jwk();
    private["d"] = json!("AAAA");
    let none_alg = {
        let s = p("POST", &url("/x")).sign();
        let mut parts: Vec<String> = s.split('.').map(str::to_owned).collect();
        use base64::Engine;
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let header: serde_json::Value =
            serde_json::from_slice(&b64.decode(&parts[0]).unwrap()).unwrap();
        let mut header = header;
        header["alg"] = json!("none");
        parts[0] = b64.encode(header.to_string());
        format!("{}.{}.", parts[0], parts[1])
    };
    let hs256 = {
        let s = p("POST", &url("/x")).sign();
        let mut parts: Vec<String> = s.split('.').map(str::to_owned).collect();
        use base64::Engine;
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let mut header: serde_json::Value =
            serde_json::from_slice(&b64.decode(&parts[0]).unwrap()).unwrap();
        header["alg"] = json!("HS256");
        parts[0] = b64.encode(header.to_string());
        parts.join(".")
    };
    let now = chrono::Utc::now().timestamp();
    let cases: Vec<(&str, String)> = vec![
        ("wrong htm", p("GET", &url("/x")).sign()),
        ("wrong htu", p("POST", "https://evil.example.com/x").sign()),
        ("wrong path", p("POST", &url("/y")).sign()),
        (
            "wrong ath",
            p("POST", &url("/x"))
                .claim("ath", json!("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"))
                .sign(),
        ),
        (
            "no ath",
            p("POST", &url("/x"))
                .claim("ath", serde_json::Value::Null)
                .sign(),
        ),
        (
            "another key than cnf.jkt",
            other.proof("POST", &url("/x"), &token).sign(),
        ),
        (
            "signed by another key than its jwk",
            p("POST", &url("/x")).signed_by(&other).sign(),
        ),
        (
            "stale iat",
            p("POST", &url("/x")).claim("iat", json!(now - 3600)).sign(),
        ),
        (
            "future iat",
            p("POST", &url("/x")).claim("iat", json!(now + 3600)).sign(),
        ),
        (
            "typ JWT",
            p("POST", &url("/x")).header("typ", json!("JWT")).sign(),
        ),
        (
            "a private key member",
            p("POST", &url("/x")).header("jwk", private).sign(),
        ),
        ("alg none", none_alg),
        ("HS256", hs256),
        ("not a JWS", "garbage".to_owned()),
    ];
    for (what, proof) in cases {
        let e = verify(
            &v,
            &token,
            Some(&presentation(proof, "POST", "/x")),
            &Requirement::none(),
        )
        .await
        .unwrap_err();
        assert_eq!(e.code(), "invalid_dpop_proof", "{what}: {e}");
        let challenge = e.www_authenticate().unwrap();
        assert!(
            challenge.starts_with("DPoP error=\"invalid_dpop_proof\""),
            "{what}: {challenge}"
        );
        assert!(challenge.contains("algs=\""), "{what}: {challenge}");
    }
    // Two DPoP headers.
    let two = DpopPresentation {
        proofs: vec![p("POST", &url("/x")).sign(), p("POST", &url("/x")).sign()],
        ..presentation(String::new(), "POST", "/x")
    };
    assert_eq!(
        verify(&v, &token, Some(&two), &Requirement::none())
            .await
            .unwrap_err()
            .code(),
        "invalid_dpop_proof"
    );
    // None at all.
    let zero = DpopPresentation {
        proofs: vec![],
        ..presentation(String::new(), "POST", "/x")
    };
    assert_eq!(
        verify(&v, &token, Some(&zero), &Requirement::none())
            .await
            .unwrap_err()
            .code(),
        "invalid_dpop_proof"
    );
    // A replayed proof.
    let proof = p("POST", &url("/x")).sign();
    verify(
        &v,
        &token,
        Some(&presentation(proof.clone(), "POST", "/x")),
        &Requirement::none(),
    )
    .await
    .unwrap();
    let e = verify(
        &v,
        &token,
        Some(&presentation(proof, "POST", "/x")),
        &Requirement::none(),
    )
    .await
    .unwrap_err();
    assert_eq!(e.code(), "invalid_dpop_proof");
    assert!(e.message().contains("already used"), "{e}");
}

#[tokio::test]
async fn no_downgrade_to_bearer_and_dpop_required_routes() {
    let issuer = TestIssuer::start().await;
    let v = issuer.verifier().await;
    let key = DpopKey::es256();
    let bound = issuer.token().claim("cnf", key.cnf()).sign();
    let e = verify(&v, &bound, None, &Requirement::none())
        .await
        .unwrap_err();
    assert_eq!(e.status(), 401);
    let challenge = e.www_authenticate().unwrap();
    assert!(
        challenge.starts_with("DPoP error=\"invalid_token\""),
        "{challenge}"
    );
    // An unbound token presented with DPoP.
    let plain = issuer.token().sign();
    let proof = key.proof("GET", &url("/me"), &plain).sign();
    let e = verify(
        &v,
        &plain,
        Some(&presentation(proof, "GET", "/me")),
        &Requirement::none(),
    )
    .await
    .unwrap_err();
    assert!(
        e.www_authenticate()
            .unwrap()
            .starts_with("DPoP error=\"invalid_token\"")
    );
    // A bearer token on a route that requires DPoP.
    let required = Requirement::none().dpop(DpopPolicy::Required);
    let e = verify(&v, &plain, None, &required).await.unwrap_err();
    assert_eq!(e.code(), "invalid_dpop_proof");
    assert!(e.www_authenticate().unwrap().starts_with("DPoP "));
    // ...which a bound token with its proof passes.
    let proof = key.proof("GET", &url("/me"), &bound).sign();
    verify(
        &v,
        &bound,
        Some(&presentation(proof, "GET", "/me")),
        &required,
    )
    .await
    .unwrap();
    // A cnf this resource cannot check (mTLS) is never a bearer token.
    let mtls = issuer
        .token()
        .claim("cnf", json!({"x5t#S256": "abc"}))
        .sign();
    assert_eq!(
        verify(&v, &mtls, None, &Requirement::none())
            .await
            .unwrap_err()
            .code(),
        "invalid_claim"
    );
}

#[tokio::test]
async fn a_stale_login_gets_the_rfc9470_challenge_in_the_dpop_scheme() {
    let issuer = TestIssuer::start().await;
    let v = issuer.verifier().await;
    let key = DpopKey::es256();
    let token = issuer
        .token()
        .claim("cnf", key.cnf())
        .auth_time_ago(3600)
        .sign();
    let proof = key.proof("POST", &url("/delete"), &token).sign();
    let e = verify(
        &v,
        &token,
        Some(&presentation(proof, "POST", "/delete")),
        &Requirement::max_age(Duration::from_secs(300)),
    )
    .await
    .unwrap_err();
    assert_eq!(e.code(), "authentication_too_old");
    let challenge = e.www_authenticate().unwrap();
    assert!(
        challenge.starts_with("DPoP error=\"insufficient_user_authentication\""),
        "{challenge}"
    );
    assert!(challenge.contains("max_age=\"300\""), "{challenge}");
}

#[tokio::test]
async fn server_nonces_are_demanded_and_honoured() {
    let issuer = TestIssuer::start().await;
    let v = Verifier::discover(
        issuer
            .config()
            .dpop_nonces(Some(vec![7u8; 32]), Duration::from_secs(300))
            .resource_metadata(format!("{ORIGIN}/.well-known/oauth-protected-resource"))
            .build()
            .unwrap(),
    )
    .await
    .unwrap();
    let key = DpopKey::es256();
    let token = issuer.token().claim("cnf", key.cnf()).sign();
    let proof = key.proof("GET", &url("/me"), &token).sign();
    let e = verify(
        &v,
        &token,
        Some(&presentation(proof, "GET", "/me")),
        &Requirement::none(),
    )
    .await
    .unwrap_err();
    assert_eq!(e.code(), "use_dpop_nonce");
    let challenge = e.www_authenticate().unwrap();
    assert!(
        challenge.starts_with("DPoP error=\"use_dpop_nonce\""),
        "{challenge}"
    );
    assert!(
        challenge.contains(
            "resource_metadata=\"https://api.example.com/.well-known/oauth-protected-resource\""
        ),
        "{challenge}"
    );
    let nonce = e.rejection().unwrap().dpop_nonce().unwrap().to_owned();
    let proof = key
        .proof("GET", &url("/me"), &token)
        .claim("nonce", json!(nonce))
        .sign();
    verify(
        &v,
        &token,
        Some(&presentation(proof, "GET", "/me")),
        &Requirement::none(),
    )
    .await
    .unwrap();
    let forged = key
        .proof("GET", &url("/me"), &token)
        .claim("nonce", json!("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"))
        .sign();
    let e = verify(
        &v,
        &token,
        Some(&presentation(forged, "GET", "/me")),
        &Requirement::none(),
    )
    .await
    .unwrap_err();
    assert_eq!(e.code(), "use_dpop_nonce");
}

#[tokio::test]
async fn the_public_origin_is_what_proofs_are_compared_with() {
    let issuer = TestIssuer::start().await;
    let v = Verifier::discover(issuer.config().public_origin(ORIGIN).build().unwrap())
        .await
        .unwrap();
    let key = DpopKey::es256();
    let token = issuer.token().claim("cnf", key.cnf()).sign();
    // The request arrived as http://10.0.0.5:8080 behind a balancer.
    let arrived = |proof| DpopPresentation {
        proofs: vec![proof],
        method: "GET".into(),
        origin: "http://10.0.0.5:8080".into(),
        path: "/me".into(),
    };
    verify(
        &v,
        &token,
        Some(&arrived(key.proof("GET", &url("/me"), &token).sign())),
        &Requirement::none(),
    )
    .await
    .unwrap();
    let inner = key.proof("GET", "http://10.0.0.5:8080/me", &token).sign();
    assert_eq!(
        verify(&v, &token, Some(&arrived(inner)), &Requirement::none())
            .await
            .unwrap_err()
            .code(),
        "invalid_dpop_proof"
    );
}

#[tokio::test]
async fn an_issuer_set_checks_the_binding_on_every_path_memo_hits_included() {
    let a = TestIssuer::start().await;
    let b = TestIssuer::start().await;
    let set = reauth::IssuerSet::new([a.verifier().await, b.verifier().await], None).unwrap();
    let key = DpopKey::es256();
    let token = a.token().claim("cnf", key.cnf()).sign();
    for round in 0..2 {
        // As Bearer: refused, before and after the token is in the set's memo.
        let e = set
            .verify_as::<ClaimsMap>(&token, &Requirement::none())
            .await
            .unwrap_err();
        assert!(
            e.www_authenticate()
                .unwrap()
                .starts_with("DPoP error=\"invalid_token\""),
            "round {round}"
        );
        let proof = key.proof("GET", &url("/me"), &token).sign();
        set.verify_presented_as::<ClaimsMap>(
            &token,
            Some(&presentation(proof, "GET", "/me")),
            &Requirement::none(),
        )
        .await
        .unwrap();
    }
    let required = Requirement::none().dpop(DpopPolicy::Required);
    let plain = b.token().sign();
    assert_eq!(
        set.verify_as::<ClaimsMap>(&plain, &required)
            .await
            .unwrap_err()
            .code(),
        "invalid_dpop_proof"
    );
}

#[test]
fn a_request_host_cannot_move_the_url_a_proof_is_compared_with() {
    let p = |origin: &str, path: &str| DpopPresentation {
        proofs: vec![],
        method: "GET".into(),
        origin: origin.into(),
        path: path.into(),
    };
    assert_eq!(
        p("https://api.example.com", "/me").htu(None).as_deref(),
        Some("https://api.example.com/me")
    );
    assert_eq!(
        p("http://127.0.0.1:8080", "/me").htu(None).as_deref(),
        Some("http://127.0.0.1:8080/me")
    );
    for bad in [
        "https://api.example.com/payouts?",
        "https://a.example#",
        "https://u@a.example",
        "ftp://a.example",
        "https://",
        "https://a b",
    ] {
        assert_eq!(p(bad, "/other").htu(None), None, "{bad}");
    }
    assert_eq!(
        p("https://a.example", "other").htu(None),
        None,
        "a relative path"
    );
    // The configured origin wins over whatever the request says.
    assert_eq!(
        p("https://evil.example/x?", "/me")
            .htu(Some(ORIGIN))
            .as_deref(),
        Some("https://api.example.com/me")
    );
}
