//! The key lookup while the keys are within their TTL (the path every
//! request takes): each answer, and which answers may cost a JWKS fetch.
//! Only a `kid` the set does not hold may; a key that is there but refuses
//! the token's `alg`, or a kid-less token that several keys fit, is refused
//! on the spot, so hostile tokens cannot make us fetch.

mod support;

use std::sync::Arc;
use std::time::Duration;

use reauth::testing::{TestIssuer, TestKey};
use reauth::{Algorithm, FakeClock, Verifier};
use serde_json::{Value, json};
use support::code;

/// An issuer publishing an RSA key bound to RS256, an RSA key bound to
/// nothing and two Ed25519 keys; verifiers with and without the memo; the
/// clock moved past the refresh cooldown, so any lookup that wanted a
/// fetch would get one.
async fn setup() -> (FakeClock, TestIssuer, [Verifier; 2], [TestKey; 4]) {
    let clock = FakeClock::now_system();
    let issuer = TestIssuer::start_with_clock(Arc::new(clock.clone())).await;
    let keys = [
        TestKey::rsa("bound"),
        TestKey::rsa("free"),
        TestKey::ed25519("ed-a"),
        TestKey::ed25519("ed-b"),
    ];
    issuer.set_jwks(json!({"keys": [
        keys[0].jwk(),
        keys[1].jwk_without_alg(),
        keys[2].jwk(),
        keys[3].jwk(),
    ]}));
    let algs = [Algorithm::RS256, Algorithm::PS256, Algorithm::EdDSA];
    let cold = Verifier::discover(
        issuer
            .config()
            .algorithms(algs)
            .memo_max_entries(0)
            .build()
            .unwrap(),
    )
    .await
    .unwrap();
    let warm = Verifier::discover(issuer.config().algorithms(algs).build().unwrap())
        .await
        .unwrap();
    assert_eq!(issuer.jwks_requests(), 2);
    clock.advance(Duration::from_secs(31));
    (clock, issuer, [cold, warm], keys)
}

#[tokio::test]
async fn known_keys_answer_without_fetching() {
    let (_clock, issuer, verifiers, keys) = setup().await;
    let [bound, free, ed_a, _] = &keys;
    for v in &verifiers {
        let cases: [(&str, String, &str); 5] = [
            (
                "the bound key, its alg",
                issuer.token().key(bound).alg(Algorithm::RS256).sign(),
                "accepted",
            ),
            (
                // RFC 7517 §4.4: a key bound to RS256 verifies nothing else.
                "the bound key, another allowed alg",
                issuer.token().key(bound).alg(Algorithm::PS256).sign(),
                "unsupported_algorithm",
            ),
            (
                "the unbound key, PS256",
                issuer.token().key(free).alg(Algorithm::PS256).sign(),
                "accepted",
            ),
            (
                "a named Ed25519 key",
                issuer.token().key(ed_a).alg(Algorithm::EdDSA).sign(),
                "accepted",
            ),
            (
                // No kid and two Ed25519 keys: which one is not ours to guess.
                "no kid, two keys fit",
                issuer
                    .token()
                    .key(ed_a)
                    .alg(Algorithm::EdDSA)
                    .header("kid", Value::Null)
                    .sign(),
                "unknown_key",
            ),
        ];
        // Twice: the second round is a memo hit for the memoizing verifier.
        for _ in 0..2 {
            for (what, token, expected) in &cases {
                assert_eq!(code(v, token).await, *expected, "{what}");
            }
        }
    }
    assert_eq!(issuer.jwks_requests(), 2, "no answer above needs a fetch");
}

#[tokio::test]
async fn an_unknown_kid_fetches_once_and_finds_a_new_key() {
    let (_clock, issuer, [cold, _], keys) = setup().await;
    let newcomer = TestKey::ec("newcomer");
    let token = issuer.token().key(&newcomer).sign();
    let mut jwks: Vec<Value> = keys.iter().map(TestKey::jwk).collect();
    jwks.push(newcomer.jwk());
    issuer.set_jwks(json!({ "keys": jwks }));
    assert_eq!(code(&cold, &token).await, "unsupported_algorithm");
    // ES256 is not on this verifier's allow-list: refused before any lookup.
    assert_eq!(issuer.jwks_requests(), 2);

    let newcomer = TestKey::ed25519("newcomer-ed");
    let token = issuer.token().key(&newcomer).alg(Algorithm::EdDSA).sign();
    let mut jwks: Vec<Value> = keys.iter().map(TestKey::jwk).collect();
    jwks.push(newcomer.jwk());
    issuer.set_jwks(json!({ "keys": jwks }));
    assert_eq!(code(&cold, &token).await, "accepted");
    assert_eq!(issuer.jwks_requests(), 3, "one fetch for the unknown kid");
    assert_eq!(code(&cold, &token).await, "accepted");
    assert_eq!(issuer.jwks_requests(), 3, "then it is known");
}
