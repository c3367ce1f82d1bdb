//! The verified-token memo is an optimisation, never a loophole: a token
//! seen before is judged again on everything that depends on time or on
//! the world.

mod support;

use std::sync::Arc;
use std::time::Duration;

use reauth::testing::{TestIssuer, TestKey};
use reauth::{FakeClock, Requirement, Verifier};
use serde_json::{Value, json};
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

/// Security review finding 1: the memo's "signing key still published" check
/// compares RFC 7638 thumbprints, so a key replaced under the same `kid` (or
/// a kid-less single key replaced) is a different key for every key type.
#[tokio::test]
async fn a_key_replaced_under_the_same_kid_or_kidless_stops_memoised_tokens() {
    type MakeKey = fn(&str) -> TestKey;
    let makers: [(&str, MakeKey); 3] = [
        ("RSA", |k| TestKey::rsa(k)),
        ("EC", |k| TestKey::ec(k)),
        ("Ed25519", |k| TestKey::ed25519(k)),
    ];
    let none = Requirement::none();
    for (name, make) in makers {
        for kidless in [false, true] {
            let clock = FakeClock::now_system();
            let issuer = TestIssuer::start_with_clock(Arc::new(clock.clone())).await;
            let publish = |key: &TestKey| {
                let mut jwk = key.jwk();
                if kidless {
                    jwk.as_object_mut().unwrap().remove("kid");
                }
                issuer.set_jwks(json!({ "keys": [jwk] }));
            };
            // The forger picks a far-away exp: only the key check can stop it.
            let sign = |key: &TestKey| {
                let b = issuer
                    .token()
                    .key(key)
                    .claim("exp", reauth::Clock::now(&clock).timestamp() + 30 * 86_400);
                if kidless {
                    b.header("kid", Value::Null)
                } else {
                    b
                }
                .sign()
            };
            let old = make("k");
            publish(&old);
            let v = issuer.verifier().await;
            let memoised = sign(&old);
            for _ in 0..2 {
                assert_eq!(code(&v, &memoised, &none).await, "accepted", "{name}");
            }
            let replacement = make("k");
            publish(&replacement);
            // The set expires; the refresh runs behind the scenes.
            clock.advance(Duration::from_secs(11 * 60));
            let fresh = sign(&replacement);
            let mut verdict = code(&v, &fresh, &none).await;
            for _ in 0..100 {
                if verdict == "accepted" {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
                verdict = code(&v, &fresh, &none).await;
            }
            assert_eq!(
                verdict, "accepted",
                "{name} kidless={kidless}: the new key is fetched"
            );
            assert_eq!(
                code(&v, &sign(&old), &none).await,
                "invalid_signature",
                "{name} kidless={kidless}: a never-seen token of the old key"
            );
            assert_eq!(
                code(&v, &memoised, &none).await,
                "invalid_signature",
                "{name} kidless={kidless}: the memoised token of the replaced key"
            );
        }
    }
}
