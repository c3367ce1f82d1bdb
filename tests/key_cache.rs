//! The key cache against a real local issuer that counts requests.

mod support;

use std::sync::Arc;
use std::time::Duration;

use reauth::testing::{Behavior, TestIssuer, TestKey};
use reauth::{FakeClock, Requirement, Verifier, VerifierConfig};
use serde_json::json;
use support::code;

const SEC: Duration = Duration::from_secs(1);

async fn faked() -> (FakeClock, TestIssuer) {
    let clock = FakeClock::now_system();
    let issuer = TestIssuer::start_with_clock(Arc::new(clock.clone())).await;
    (clock, issuer)
}

/// A token valid for three days, for tests that move the clock by hours.
fn long_lived(issuer: &TestIssuer) -> String {
    let exp = issuer.clock().now().timestamp() + 3 * 86_400;
    issuer.token().claim("exp", exp).sign()
}

/// Waits (bounded) until the issuer has served `n` JWKS requests.
async fn wait_for_jwks_requests(issuer: &TestIssuer, n: usize) {
    for _ in 0..200 {
        if issuer.jwks_requests() >= n {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("expected {n} JWKS requests, saw {}", issuer.jwks_requests());
}

#[tokio::test]
async fn discovery_and_jwks_are_fetched_once_for_many_requests() {
    let issuer = TestIssuer::start().await;
    let v = issuer.verifier().await;
    for _ in 0..50 {
        assert_eq!(code(&v, &issuer.token().sign()).await, "accepted");
    }
    assert_eq!(
        (issuer.discovery_requests(), issuer.jwks_requests()),
        (1, 1)
    );
}

#[tokio::test]
async fn rotation_picks_up_a_new_kid_after_the_cooldown() {
    let (clock, issuer) = faked().await;
    let v = issuer.verifier().await;
    assert_eq!(code(&v, &issuer.token().sign()).await, "accepted");
    let old = issuer.token().sign();
    issuer.rotate();
    let rotated = issuer.token().sign();
    // The first fetch just happened (start-up): within the cooldown, no refetch.
    assert_eq!(code(&v, &rotated).await, "unknown_key");
    assert_eq!(issuer.jwks_requests(), 1);
    clock.advance(31 * SEC);
    assert_eq!(code(&v, &rotated).await, "accepted");
    assert_eq!(issuer.jwks_requests(), 2);
    // The old key left the JWKS: tokens it signed stop working.
    assert_eq!(code(&v, &old).await, "unknown_key");
    // And an unknown kid right after a fetch does not fetch again.
    let stranger = issuer.token().key(&TestKey::ec("stranger")).sign();
    for _ in 0..10 {
        assert_eq!(code(&v, &stranger).await, "unknown_key");
    }
    assert_eq!(issuer.jwks_requests(), 2);
}

#[tokio::test]
async fn two_hundred_concurrent_unknown_kids_cause_one_fetch() {
    let (clock, issuer) = faked().await;
    let v = issuer.verifier().await;
    issuer.rotate();
    clock.advance(31 * SEC);
    // Slow the JWKS down so every caller piles up behind the one fetch.
    issuer.set_jwks_behavior(Behavior::Delay(Duration::from_millis(300)));
    let token = issuer.token().sign();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..200 {
        let (v, t) = (v.clone(), token.clone());
        tasks.spawn(async move {
            v.verify(&t, &Requirement::none())
                .await
                .map(|_| ())
                .map_err(|e| e.code())
        });
    }
    while let Some(r) = tasks.join_next().await {
        assert_eq!(r.unwrap(), Ok(()));
    }
    assert_eq!(
        issuer.jwks_requests(),
        2,
        "start-up fetch + exactly one refresh"
    );
}

#[tokio::test]
async fn cache_control_sets_the_ttl() {
    let (clock, issuer) = faked().await;
    issuer.set_jwks_cache_control(Some("public, max-age=3600"));
    let v = issuer.verifier().await;
    let t = issuer.token().sign();
    clock.advance(Duration::from_secs(59 * 60));
    assert_eq!(code(&v, &t).await, "accepted");
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(issuer.jwks_requests(), 1, "still fresh at 59 min");
    clock.advance(Duration::from_secs(2 * 60));
    // Expired: answered from the cached keys at once, refreshed in the background.
    assert_eq!(code(&v, &issuer.token().sign()).await, "accepted");
    wait_for_jwks_requests(&issuer, 2).await;
}

#[tokio::test]
async fn ttl_is_clamped_and_defaults_to_ten_minutes() {
    let (clock, issuer) = faked().await;
    issuer.set_jwks_cache_control(Some("no-store"));
    let v = issuer.verifier().await;
    let t = issuer.token().sign();
    clock.advance(Duration::from_secs(4 * 60));
    assert_eq!(code(&v, &t).await, "accepted");
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(
        issuer.jwks_requests(),
        1,
        "no-store is clamped up to the 5 min minimum"
    );
    clock.advance(Duration::from_secs(2 * 60));
    assert_eq!(code(&v, &t).await, "accepted");
    wait_for_jwks_requests(&issuer, 2).await;

    let (clock, issuer) = faked().await;
    let v = issuer.verifier().await;
    clock.advance(Duration::from_secs(9 * 60));
    assert_eq!(code(&v, &issuer.token().sign()).await, "accepted");
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(issuer.jwks_requests(), 1, "no Cache-Control: 10 min");
    clock.advance(Duration::from_secs(2 * 60));
    assert_eq!(code(&v, &issuer.token().sign()).await, "accepted");
    wait_for_jwks_requests(&issuer, 2).await;
}

#[tokio::test]
async fn failing_jwks_keeps_serving_known_keys_until_the_stale_bound() {
    let (clock, issuer) = faked().await;
    let v = issuer.verifier().await;
    let t = long_lived(&issuer);
    issuer.set_jwks_behavior(Behavior::Status(500));
    clock.advance(Duration::from_secs(11 * 60));
    assert_eq!(code(&v, &t).await, "accepted");
    wait_for_jwks_requests(&issuer, 2).await;
    // Hours later, still the last good keys (refreshes keep failing).
    clock.advance(Duration::from_secs(12 * 3600));
    assert_eq!(code(&v, &t).await, "accepted");
    // Past TTL + stale_if_error (24 h): unavailable, not a rejection.
    clock.advance(Duration::from_secs(12 * 3600 + 60));
    let e = v.verify(&t, &Requirement::none()).await.unwrap_err();
    assert_eq!((e.code(), e.status()), ("keys_unavailable", 503));
    assert!(!v.keys_ready());
    // The issuer recovers: the next attempt after the cooldown loads keys again.
    issuer.set_jwks_behavior(Behavior::Normal);
    clock.advance(31 * SEC);
    assert_eq!(code(&v, &t).await, "accepted");
    assert!(v.keys_ready());
}

#[tokio::test]
async fn no_keys_at_all_is_unavailable_not_a_rejection() {
    let issuer = TestIssuer::start().await;
    issuer.set_jwks_behavior(Behavior::Status(503));
    let v = issuer.verifier().await;
    assert!(!v.keys_ready());
    let e = v
        .verify(&issuer.token().sign(), &Requirement::none())
        .await
        .unwrap_err();
    assert_eq!(
        (e.code(), e.status(), e.rejection().is_none()),
        ("keys_unavailable", 503, true)
    );
    // A malformed token is still judged on its own: no keys needed to say so.
    let e = v.verify("garbage", &Requirement::none()).await.unwrap_err();
    assert_eq!(e.code(), "malformed_token");
}

#[tokio::test]
async fn a_hanging_jwks_never_blocks_callers_with_known_keys() {
    let (clock, issuer) = faked().await;
    let cfg = issuer
        .config()
        .http_timeout(Duration::from_secs(3))
        .build()
        .unwrap();
    let v = Verifier::discover(cfg).await.unwrap();
    let t = issuer.token().sign();
    issuer.set_jwks_behavior(Behavior::Hang);
    clock.advance(Duration::from_secs(11 * 60));
    // The set is expired and its refresh hangs; known keys answer regardless.
    for _ in 0..20 {
        let r = tokio::time::timeout(
            Duration::from_millis(500),
            v.verify(&t, &Requirement::none()),
        )
        .await;
        assert!(
            matches!(r, Ok(Ok(_))),
            "known-kid caller waited on the refresh"
        );
    }
    // An unknown kid waits for the refresh, which ends at the fetch timeout.
    let stranger = issuer.token().key(&TestKey::rsa("stranger")).sign();
    clock.advance(31 * SEC);
    let r = tokio::time::timeout(
        Duration::from_secs(10),
        v.verify(&stranger, &Requirement::none()),
    )
    .await;
    assert_eq!(
        r.expect("bounded by the fetch timeout").unwrap_err().code(),
        "unknown_key"
    );
}

#[tokio::test]
async fn oversized_and_hostile_jwks_responses() {
    for (behavior, expect_reason) in [
        (Behavior::Huge(2 * 1024 * 1024), "exceeds"),
        (Behavior::HugeDeclared(2 * 1024 * 1024), "exceeds"),
        (Behavior::Endless, "exceeds"),
        (Behavior::RedirectLoop, "redirect"),
        (Behavior::Body("{\"keys\": 5}".into()), "keys"),
        (Behavior::Body("<html>".into()), "JSON"),
    ] {
        let issuer = TestIssuer::start().await;
        issuer.set_jwks_behavior(behavior.clone());
        let v = issuer.verifier().await;
        let e = v
            .verify(&issuer.token().sign(), &Requirement::none())
            .await
            .unwrap_err();
        assert_eq!(e.code(), "keys_unavailable", "{behavior:?}");
        assert!(e.to_string().contains(expect_reason), "{behavior:?}: {e}");
    }
}

#[tokio::test]
async fn redirects_to_another_host_are_not_followed() {
    let issuer = TestIssuer::start().await;
    let other = TestIssuer::start().await;
    // Same JWKS served elsewhere: following the redirect would "work".
    other.set_jwks(json!({"keys": issuer.keys().iter().map(TestKey::jwk).collect::<Vec<_>>()}));
    issuer.set_jwks_behavior(Behavior::RedirectTo(other.url("/jwks")));
    let v = issuer.verifier().await;
    assert_eq!(code(&v, &issuer.token().sign()).await, "keys_unavailable");
    assert_eq!(other.jwks_requests(), 0);
    // A same-origin redirect is fine.
    issuer.set_jwks_behavior(Behavior::RedirectTo(issuer.url("/jwks-moved")));
    let v = issuer.verifier().await;
    assert_eq!(
        code(&v, &issuer.token().sign()).await,
        "keys_unavailable",
        "404 at the new path"
    );
}

#[tokio::test]
async fn discovery_failures_fail_construction() {
    let issuer = TestIssuer::start().await;
    issuer.set_discovery_field("issuer", json!("https://impostor.example"));
    let e = Verifier::discover(issuer.config().build().unwrap())
        .await
        .unwrap_err();
    assert_eq!(e.code(), "discovery_failed");
    assert!(e.to_string().contains("impostor"), "{e}");

    let issuer = TestIssuer::start().await;
    issuer.set_discovery_behavior(Behavior::Status(500));
    assert_eq!(
        Verifier::discover(issuer.config().build().unwrap())
            .await
            .unwrap_err()
            .code(),
        "discovery_failed"
    );

    let issuer = TestIssuer::start().await;
    issuer.set_discovery_field("jwks_uri", json!("http://keys.example.com/jwks"));
    let e = Verifier::discover(issuer.config().build().unwrap())
        .await
        .unwrap_err();
    assert_eq!(e.code(), "config_error", "{e}");

    let issuer = TestIssuer::start().await;
    issuer.set_discovery_behavior(Behavior::Hang);
    let cfg = issuer
        .config()
        .http_timeout(Duration::from_millis(500))
        .build()
        .unwrap();
    let r = tokio::time::timeout(Duration::from_secs(10), Verifier::discover(cfg)).await;
    assert_eq!(
        r.expect("bounded by the fetch timeout").unwrap_err().code(),
        "discovery_failed"
    );

    let e = VerifierConfig::builder("http://issuer.example.com")
        .audience("a")
        .build()
        .unwrap_err();
    assert_eq!(e.code(), "config_error");
}

#[tokio::test]
async fn discovery_is_refreshed_rarely_and_a_bad_refresh_keeps_the_old_one() {
    let (clock, issuer) = faked().await;
    let v = issuer.verifier().await;
    let t = long_lived(&issuer);
    issuer.set_discovery_field("issuer", json!("https://impostor.example"));
    clock.advance(Duration::from_secs(7 * 3600));
    assert_eq!(code(&v, &t).await, "accepted");
    wait_for_jwks_requests(&issuer, 2).await;
    assert_eq!(issuer.discovery_requests(), 2);
    clock.advance(Duration::from_secs(3600));
    assert_eq!(code(&v, &t).await, "accepted");
}
