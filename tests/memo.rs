//! The verified-token memo is an optimisation, never a loophole: a token
//! seen before is judged again on everything that depends on time or on
//! the world.

mod support;

use std::time::Duration;

use reauth::testing::{TestIssuer, TestKey};
use reauth::{Requirement, Verifier};
use support::verdict as code;

#[tokio::test]
async fn expiry_stricter_routes_and_revocation_apply_to_cached_tokens() {
    let (clock, issuer, v) = support::with_fake_clock().await;
    let none = Requirement::none();
    let token = issuer.token().claim("sid", "s-1").sign();
    for _ in 0..3 {
        assert_eq!(code(&v, &token, &none).await, "accepted");
    }
    // A stricter route, later.
    clock.advance(Duration::from_secs(120));
    assert_eq!(
        code(&v, &token, &Requirement::max_age(Duration::from_secs(300))).await,
        "accepted"
    );
    assert_eq!(
        code(&v, &token, &Requirement::max_age(Duration::from_secs(60))).await,
        "authentication_too_old"
    );
    assert_eq!(
        code(&v, &token, &none.clone().require_amr(["mfa"])).await,
        "insufficient_authentication"
    );
    // Revocation after caching.
    v.revoke_session("s-1").await.unwrap();
    assert_eq!(code(&v, &token, &none).await, "revoked");
    // Expiry after caching (exp is 1 h; leeway 30 s).
    let other = issuer.token().sign();
    assert_eq!(code(&v, &other, &none).await, "accepted");
    clock.advance(Duration::from_secs(3600 + 29));
    assert_eq!(code(&v, &other, &none).await, "accepted");
    clock.advance(Duration::from_secs(2));
    assert_eq!(code(&v, &other, &none).await, "expired");
    // And it stays expired (the entry was dropped, the full path agrees).
    assert_eq!(code(&v, &other, &none).await, "expired");
}

#[tokio::test]
async fn a_key_removed_from_the_jwks_stops_working() {
    let (clock, issuer, v) = support::with_fake_clock().await;
    let none = Requirement::none();
    let token = issuer.token().sign();
    assert_eq!(code(&v, &token, &none).await, "accepted");
    issuer.rotate();
    // The issuer's new JWKS is fetched when the set expires (10 min default)...
    clock.advance(Duration::from_secs(11 * 60));
    let fresh = issuer.token().sign();
    assert_eq!(code(&v, &fresh, &none).await, "accepted");
    // ...after which the cached token's key is gone.
    assert_eq!(code(&v, &token, &none).await, "unknown_key");
}

#[tokio::test]
async fn tampered_copies_of_a_cached_token_are_rejected() {
    let (_, issuer, v) = support::with_fake_clock().await;
    let none = Requirement::none();
    let token = issuer.token().sign();
    assert_eq!(code(&v, &token, &none).await, "accepted");
    let mut flipped = token.clone().into_bytes();
    let last = flipped.len() - 2;
    flipped[last] = if flipped[last] == b'A' { b'B' } else { b'A' };
    let flipped = String::from_utf8(flipped).unwrap();
    assert_eq!(code(&v, &flipped, &none).await, "invalid_signature");
    assert_eq!(
        code(&v, &format!("{token}x"), &none).await,
        "malformed_token"
    );
    assert_eq!(
        code(&v, &token[..token.len() - 1], &none).await,
        "malformed_token"
    );
    let forged = issuer.token().key(&TestKey::rsa("rsa-1")).sign();
    assert_eq!(code(&v, &forged, &none).await, "invalid_signature");
    assert_eq!(code(&v, &token, &none).await, "accepted");
}

#[tokio::test]
async fn concurrent_mixed_requests_on_a_warm_memo() {
    let (_, issuer, v) = support::with_fake_clock().await;
    let valid: Vec<String> = (0..8)
        .map(|i| issuer.token().claim("sub", format!("u{i}")).sign())
        .collect();
    let attacker = TestKey::rsa("rsa-1");
    let invalid: Vec<String> = (0..8)
        .map(|i| {
            issuer
                .token()
                .key(&attacker)
                .claim("sub", format!("u{i}"))
                .sign()
        })
        .collect();
    let mut tasks = tokio::task::JoinSet::new();
    for round in 0..400 {
        let i = round % 8;
        let (v, good, bad) = (v.clone(), valid[i].clone(), invalid[i].clone());
        tasks.spawn(async move {
            let ok = v.verify(&good, &Requirement::none()).await.unwrap();
            assert_eq!(ok.subject(), format!("u{i}"));
            assert_eq!(
                v.verify(&bad, &Requirement::none())
                    .await
                    .unwrap_err()
                    .code(),
                "invalid_signature"
            );
        });
    }
    while let Some(r) = tasks.join_next().await {
        r.unwrap();
    }
}

#[tokio::test]
async fn disabled_memo_gives_the_same_answers() {
    let issuer = TestIssuer::start().await;
    let v = Verifier::discover(issuer.config().memo_max_entries(0).build().unwrap())
        .await
        .unwrap();
    let token = issuer.token().sign();
    for _ in 0..3 {
        assert_eq!(code(&v, &token, &Requirement::none()).await, "accepted");
    }
}
