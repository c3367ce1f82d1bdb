//! RFC 9068 JWT access tokens against the real local test issuer: explicit
//! typing both ways, the required claims, `client_id` and `scope` typed,
//! RFC 9470 freshness and step-up with the same challenges as ID tokens,
//! and `insufficient_scope` (RFC 6750 §3.1), through the library and an
//! actix-web route.

mod support;

use std::time::Duration;

use reauth::testing::{TEST_CLIENT_ID, TEST_RESOURCE, TestIssuer};
use reauth::{Requirement, TokenKind, Verifier, VerifyError};
use support::code;

async fn access_verifier(issuer: &TestIssuer) -> Verifier {
    let v = Verifier::discover(issuer.access_config().build().unwrap())
        .await
        .unwrap();
    assert_eq!(v.config().kind(), TokenKind::AccessToken);
    v
}

#[tokio::test]
async fn access_tokens_are_typed_and_carry_client_and_scope() {
    let issuer = TestIssuer::start().await;
    let v = access_verifier(&issuer).await;
    let t = issuer
        .access_token()
        .claim("scope", "payments:read  payments:write")
        .sign();
    let ok = v.verify(&t, &Requirement::none()).await.unwrap();
    assert_eq!(ok.claims.client_id.as_deref(), Some(TEST_CLIENT_ID));
    assert_eq!(ok.claims.scope, ["payments:read", "payments:write"]);
    assert_eq!(ok.claims.aud, [TEST_RESOURCE]);
    let media = issuer
        .access_token()
        .header("typ", "application/at+jwt")
        .sign();
    assert_eq!(code(&v, &media).await, "accepted");

    // RFC 9068 §4: typ at+jwt is required.
    for typ in [
        serde_json::Value::Null,
        "JWT".into(),
        "jwt".into(),
        "logout+jwt".into(),
    ] {
        let t = issuer.access_token().header("typ", typ.clone()).sign();
        assert_eq!(code(&v, &t).await, "invalid_token_type", "{typ}");
    }
    // §2.2: client_id and jti are required; aud is the resource, not a client.
    assert_eq!(
        code(&v, &issuer.access_token().without("client_id").sign()).await,
        "missing_claim"
    );
    assert_eq!(
        code(&v, &issuer.access_token().without("jti").sign()).await,
        "missing_claim"
    );
    assert_eq!(
        code(
            &v,
            &issuer.access_token().claim("aud", TEST_CLIENT_ID).sign()
        )
        .await,
        "invalid_audience"
    );
    assert_eq!(
        code(&v, &issuer.access_token().claim("scope", 7).sign()).await,
        "invalid_claim"
    );
}

#[tokio::test]
async fn the_kinds_never_pass_for_each_other() {
    let issuer = TestIssuer::start().await;
    let access = access_verifier(&issuer).await;
    let id = issuer.verifier().await;
    // An ID token (typed JWT or untyped), even with the resource as audience.
    let id_token = issuer.token().sign();
    let id_for_api = issuer
        .token()
        .claim("aud", TEST_RESOURCE)
        .claim("client_id", "c")
        .claim("jti", "j")
        .sign();
    assert_eq!(code(&access, &id_token).await, "invalid_token_type");
    assert_eq!(code(&access, &id_for_api).await, "invalid_token_type");
    // An access token, even with the client id as audience.
    let at = issuer.access_token().claim("aud", TEST_CLIENT_ID).sign();
    assert_eq!(code(&id, &at).await, "invalid_token_type");
}

#[tokio::test]
async fn freshness_and_step_up_apply_to_access_tokens() {
    let issuer = TestIssuer::start().await;
    let v = access_verifier(&issuer).await;
    let five_min = Requirement::max_age(Duration::from_secs(300));
    let old = issuer.access_token().auth_time_ago(3600).sign();
    let e = v.verify(&old, &five_min).await.unwrap_err();
    assert_eq!(e.code(), "authentication_too_old");
    let challenge = e.www_authenticate().unwrap();
    assert!(
        challenge.contains("insufficient_user_authentication")
            && challenge.contains("max_age=\"300\""),
        "{challenge}"
    );
    // RFC 9068 §2.2.1: auth_time is optional; under a max_age it is required.
    let none = issuer.access_token().without("auth_time").sign();
    assert!(v.verify(&none, &Requirement::none()).await.is_ok());
    let e = v.verify(&none, &five_min).await.unwrap_err();
    assert_eq!(e.code(), "missing_claim");
    assert!(e.www_authenticate().unwrap().contains("max_age"));
    // acr step-up.
    let loa3 = Requirement::none().acr_values(["urn:loa:3"]);
    let t = issuer.access_token().claim("acr", "urn:loa:1").sign();
    let e = v.verify(&t, &loa3).await.unwrap_err();
    assert_eq!(e.code(), "insufficient_authentication");
    assert!(
        e.www_authenticate()
            .unwrap()
            .contains("acr_values=\"urn:loa:3\"")
    );
    let t = issuer.access_token().claim("acr", "urn:loa:3").sign();
    assert!(v.verify(&t, &loa3).await.is_ok());
}

#[tokio::test]
async fn scopes_are_required_per_route() {
    let issuer = TestIssuer::start().await;
    let v = access_verifier(&issuer).await;
    let pay = Requirement::max_age(Duration::from_secs(300)).require_scopes(["payments:write"]);
    let read_only = issuer.access_token().claim("scope", "payments:read").sign();
    let e = v.verify(&read_only, &pay).await.unwrap_err();
    assert_eq!((e.code(), e.status()), ("insufficient_scope", 403));
    let challenge = e.www_authenticate().unwrap();
    assert!(
        challenge.starts_with("Bearer error=\"insufficient_scope\"")
            && challenge.contains("scope=\"payments:write\""),
        "{challenge}"
    );
    // Scope before freshness: a stale token without the scope is 403, not a step-up.
    let stale = issuer
        .access_token()
        .auth_time_ago(3600)
        .claim("scope", "x")
        .sign();
    assert_eq!(
        v.verify(&stale, &pay).await.unwrap_err().code(),
        "insufficient_scope"
    );
    let good = issuer
        .access_token()
        .claim("scope", "payments:read payments:write")
        .sign();
    assert!(v.verify(&good, &pay).await.is_ok());
    // A scope requirement on an ID-token verifier fails closed.
    let id = issuer.verifier().await;
    let e: VerifyError = id.verify(&issuer.token().sign(), &pay).await.unwrap_err();
    assert_eq!(e.code(), "insufficient_scope");

    // Through an actix-web route: 403 with the challenge.
    use actix_web::{App, HttpResponse, HttpServer, web};
    use reauth::actix::Reauthenticated;
    async fn payout(user: Reauthenticated) -> HttpResponse {
        HttpResponse::Ok().body(user.claims.client_id.clone().unwrap_or_default())
    }
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let (vv, pp) = (v.clone(), pay.clone());
    let server = HttpServer::new(move || {
        App::new()
            .app_data(web::Data::new(vv.clone()))
            .app_data(pp.clone())
            .route("/payout", web::post().to(payout))
    })
    .workers(1)
    .listen(listener)
    .unwrap()
    .run();
    tokio::spawn(server);
    let client = reqwest::Client::new();
    let res = client
        .post(format!("http://{addr}/payout"))
        .bearer_auth(&read_only)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    assert!(
        res.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("insufficient_scope")
    );
    let res = client
        .post(format!("http://{addr}/payout"))
        .bearer_auth(&good)
        .send()
        .await
        .unwrap();
    assert_eq!(
        (res.status().as_u16(), res.text().await.unwrap()),
        (200, TEST_CLIENT_ID.to_owned())
    );
}
