//! Revocation with the default in-memory store: session lifetime, user
//! cut-offs, session revocation and back-channel logout, with a fake clock.

mod support;

use std::sync::Arc;
use std::time::Duration;

use reauth::testing::{TestIssuer, TestKey};
use reauth::{Algorithm, Clock, FakeClock, Requirement, Verifier};
use serde_json::json;
use support::code;

#[tokio::test]
async fn force_relogin_after_n_days() {
    let clock = FakeClock::now_system();
    let issuer = TestIssuer::start_with_clock(Arc::new(clock.clone())).await;
    let cfg = issuer
        .config()
        .max_session_age(Some(Duration::from_secs(30 * 86_400)))
        .build()
        .unwrap();
    let v = Verifier::discover(cfg).await.unwrap();
    let login = clock.now().timestamp();
    clock.advance(Duration::from_secs(29 * 86_400));
    // An ID token refreshed today from a login 29 days ago: fine.
    let refreshed = issuer.token().claim("auth_time", login).sign();
    assert_eq!(code(&v, &refreshed).await, "accepted");
    clock.advance(Duration::from_secs(2 * 86_400));
    let refreshed = issuer.token().claim("auth_time", login).sign();
    let e = v
        .verify(&refreshed, &Requirement::none())
        .await
        .unwrap_err();
    assert_eq!(e.code(), "authentication_too_old");
    assert!(
        e.www_authenticate()
            .unwrap()
            .ends_with("max_age=\"2592000\"")
    );
}

#[tokio::test]
async fn log_out_all_devices() {
    let (clock, issuer, v) = support::with_fake_clock().await;
    let laptop = issuer.token().auth_time_ago(600).sign();
    let phone = issuer
        .token()
        .auth_time_ago(60)
        .claim("sid", "phone")
        .sign();
    let other_user = issuer.token().claim("sub", "user-2").sign();
    assert_eq!(code(&v, &laptop).await, "accepted");
    v.revoke_user("user-1", None).await.unwrap();
    assert_eq!(code(&v, &laptop).await, "revoked");
    assert_eq!(code(&v, &phone).await, "revoked");
    assert_eq!(code(&v, &other_user).await, "accepted");
    // An ID token refreshed from a revoked login keeps its auth_time: still revoked.
    clock.advance(Duration::from_secs(60));
    let refreshed = issuer.token().auth_time_ago(660).sign();
    assert_eq!(code(&v, &refreshed).await, "revoked");
    // Without auth_time, iat decides.
    let no_auth_time_old = issuer
        .token()
        .without("auth_time")
        .claim("iat", clock.now().timestamp() - 120)
        .sign();
    assert_eq!(code(&v, &no_auth_time_old).await, "revoked");
    // Logging in again works.
    clock.advance(Duration::from_secs(1));
    assert_eq!(code(&v, &issuer.token().sign()).await, "accepted");
    let e = v.verify(&laptop, &Requirement::none()).await.unwrap_err();
    assert_eq!(
        (
            e.status(),
            e.www_authenticate()
                .unwrap()
                .starts_with("Bearer error=\"invalid_token\"")
        ),
        (401, true)
    );
}

#[tokio::test]
async fn cutoff_in_the_past_and_retention() {
    let (clock, issuer, v) = support::with_fake_clock().await;
    let now = clock.now().timestamp();
    // "Role changed an hour ago": logins before that are revoked, later ones are not.
    v.revoke_user("user-1", Some(now - 3600)).await.unwrap();
    assert_eq!(
        code(&v, &issuer.token().auth_time_ago(7200).sign()).await,
        "revoked"
    );
    assert_eq!(
        code(&v, &issuer.token().auth_time_ago(1800).sign()).await,
        "accepted"
    );
    // Kept for the retention (30 days + leeway), then forgotten.
    clock.advance(Duration::from_secs(31 * 86_400));
    let ancient = issuer.token().claim("auth_time", now - 7200).sign();
    assert_eq!(code(&v, &ancient).await, "accepted");
}

#[tokio::test]
async fn revoke_one_session() {
    let (_, issuer, v) = support::with_fake_clock().await;
    let a = issuer.token().claim("sid", "a").sign();
    let b = issuer.token().claim("sid", "b").sign();
    v.revoke_session("a").await.unwrap();
    assert_eq!(code(&v, &a).await, "revoked");
    assert_eq!(code(&v, &b).await, "accepted");
    assert_eq!(
        code(&v, &issuer.token().sign()).await,
        "accepted",
        "no sid: not this session"
    );
}

#[tokio::test]
async fn backchannel_logout_tokens() {
    let (_, issuer, v) = support::with_fake_clock().await;
    let session_token = issuer.token().claim("sid", "session-1").sign();
    assert_eq!(code(&v, &session_token).await, "accepted");

    let refused = |builder: reauth::testing::TokenBuilder| {
        let v = v.clone();
        async move {
            v.backchannel_logout(&builder.sign())
                .await
                .map(|_| ())
                .map_err(|e| (e.status(), e.code()))
        }
    };
    let b = || issuer.logout_token();
    assert_eq!(
        refused(b().alg(Algorithm::ES256).claim("sid", "other")).await,
        Ok(()),
        "ES256 is allowed too"
    );
    for (name, builder, code) in [
        (
            "attacker key",
            b().key(&TestKey::rsa("rsa-1")),
            "invalid_signature",
        ),
        ("with nonce", b().claim("nonce", "n"), "invalid_claim"),
        (
            "wrong aud",
            b().claim("aud", "someone-else"),
            "invalid_audience",
        ),
        (
            "wrong issuer",
            b().claim("iss", "https://evil.example"),
            "invalid_issuer",
        ),
        ("no events", b().without("events"), "missing_claim"),
        (
            "wrong event",
            b().claim(
                "events",
                json!({"http://schemas.openid.net/event/other": {}}),
            ),
            "invalid_claim",
        ),
        ("no sub nor sid", b().without("sid"), "missing_claim"),
        ("no jti", b().without("jti"), "missing_claim"),
        (
            "an ID token",
            issuer.token().header("typ", "JWT"),
            "invalid_token_type",
        ),
        ("expired", b().claim("exp", 1), "expired"),
    ] {
        assert_eq!(refused(builder).await, Err((400, code)), "{name}");
    }
    let none = {
        let t = b().sign();
        let p: Vec<_> = t.split('.').collect();
        let h = base64::Engine::encode(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            r#"{"alg":"none","typ":"logout+jwt"}"#,
        );
        format!("{h}.{}.", p[1])
    };
    assert_eq!(
        v.backchannel_logout(&none).await.unwrap_err().code(),
        "malformed_token"
    );
    let none_sig = format!("{none}AAAA");
    assert_eq!(
        v.backchannel_logout(&none_sig).await.unwrap_err().code(),
        "unsupported_algorithm"
    );
    let hs = b()
        .raw_header(r#"{"alg":"HS256","typ":"logout+jwt","kid":"rsa-1"}"#)
        .alg(Algorithm::RS256)
        .sign();
    assert_eq!(
        v.backchannel_logout(&hs).await.unwrap_err().code(),
        "unsupported_algorithm"
    );
    assert_eq!(
        code(&v, &session_token).await,
        "accepted",
        "nothing above revoked anything"
    );

    // A valid one revokes the session, once; its replay is refused.
    let logout = b().sign();
    let event = v.backchannel_logout(&logout).await.unwrap();
    assert_eq!(event.sid.as_deref(), Some("session-1"));
    assert_eq!(code(&v, &session_token).await, "revoked");
    let replay = v.backchannel_logout(&logout).await.unwrap_err();
    assert_eq!((replay.status(), replay.code()), (400, "invalid_claim"));
    assert_eq!(replay.to_json()["error"], "invalid_request");

    // sub only: every earlier login of that user.
    let user_token = issuer
        .token()
        .claim("sub", "user-9")
        .auth_time_ago(10)
        .sign();
    v.backchannel_logout(&b().without("sid").claim("sub", "user-9").sign())
        .await
        .unwrap();
    assert_eq!(code(&v, &user_token).await, "revoked");
}
