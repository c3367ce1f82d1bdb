//! The Redis store against a real `redis-server` that the tests start on a
//! free loopback port. Without the binary, these tests say so loudly and
//! skip, except under CI (`CI` set), where that is a failure.
#![cfg(feature = "redis")]

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use reauth::revocation::{RedisStore, RedisStoreConfig, WhenUnreachable};
use reauth::testing::TestIssuer;
use reauth::{Requirement, Verifier};
use support::{Redis, code};

async fn verifier(issuer: &TestIssuer, store: Arc<RedisStore>) -> Verifier {
    Verifier::discover(issuer.config().revocation_store(store).build().unwrap())
        .await
        .unwrap()
}

/// Polls until `v` answers `expected` for `token`; returns how long it took.
async fn within(v: &Verifier, token: &str, expected: &str, bound: Duration) -> Duration {
    let start = Instant::now();
    loop {
        let got = code(v, token).await;
        if got == expected {
            return start.elapsed();
        }
        assert!(
            start.elapsed() < bound,
            "still {got:?} after {bound:?}, expected {expected:?}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn two_instances_share_revocations() {
    let Some(redis) = Redis::start() else { return };
    let issuer = TestIssuer::start().await;
    let a = verifier(
        &issuer,
        RedisStore::connect(RedisStoreConfig::new(redis.url()))
            .await
            .unwrap(),
    )
    .await;
    let b = verifier(
        &issuer,
        RedisStore::connect(RedisStoreConfig::new(redis.url()))
            .await
            .unwrap(),
    )
    .await;
    let c = verifier(
        &issuer,
        RedisStore::connect(RedisStoreConfig::new(redis.url()))
            .await
            .unwrap(),
    )
    .await;

    let token = issuer.token().claim("sid", "s-1").auth_time_ago(60).sign();
    let other = issuer.token().claim("sub", "user-2").sign();
    for v in [&a, &b, &c] {
        assert_eq!(code(v, &token).await, "accepted");
    }
    a.revoke_user("user-1", None).await.unwrap();
    assert_eq!(
        code(&a, &token).await,
        "revoked",
        "at once on the instance that revoked"
    );
    let to_b = within(&b, &token, "revoked", Duration::from_secs(2)).await;
    let to_c = within(&c, &token, "revoked", Duration::from_secs(2)).await;
    eprintln!("revocation reached B in {to_b:?}, C in {to_c:?} (through the log)");
    for v in [&a, &b, &c] {
        assert_eq!(code(v, &other).await, "accepted");
    }

    // Session revocation and back-channel logout, received by B, seen by A and C.
    let s2 = issuer
        .token()
        .claim("sub", "user-3")
        .claim("sid", "s-2")
        .sign();
    let s3 = issuer
        .token()
        .claim("sub", "user-3")
        .claim("sid", "session-1")
        .sign();
    c.revoke_session("s-2").await.unwrap();
    b.backchannel_logout(&issuer.logout_token().sign())
        .await
        .unwrap();
    for v in [&a, &b, &c] {
        within(v, &s2, "revoked", Duration::from_secs(2)).await;
        within(v, &s3, "revoked", Duration::from_secs(2)).await;
    }
    // A replayed logout token is refused on another instance too.
    let logout = issuer.logout_token().claim("sid", "s-9").sign();
    a.backchannel_logout(&logout).await.unwrap();
    assert_eq!(
        c.backchannel_logout(&logout).await.unwrap_err().code(),
        "invalid_claim"
    );

    // A store connected later loads the existing state.
    let d = verifier(
        &issuer,
        RedisStore::connect(RedisStoreConfig::new(redis.url()))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(code(&d, &token).await, "revoked");
    assert_eq!(code(&d, &s2).await, "revoked");
    assert_eq!(code(&d, &other).await, "accepted");
}

#[tokio::test]
async fn redis_down_fails_closed_then_recovers() {
    let Some(mut redis) = Redis::start() else {
        return;
    };
    let issuer = TestIssuer::start().await;
    let mut cfg = RedisStoreConfig::new(redis.url());
    cfg.max_staleness = Duration::from_secs(1);
    cfg.block = Duration::from_millis(200);
    let strict = verifier(&issuer, RedisStore::connect(cfg.clone()).await.unwrap()).await;
    let mut lenient_cfg = cfg.clone();
    lenient_cfg.when_unreachable = WhenUnreachable::UseLastKnown(Duration::from_secs(60));
    let lenient = verifier(&issuer, RedisStore::connect(lenient_cfg).await.unwrap()).await;

    let revoked = issuer.token().claim("sub", "gone").auth_time_ago(10).sign();
    let fine = issuer.token().sign();
    strict.revoke_user("gone", None).await.unwrap();
    within(&lenient, &revoked, "revoked", Duration::from_secs(2)).await;

    redis.kill();
    // Fail closed (default): 503 once the mirror is older than max_staleness.
    within(
        &strict,
        &fine,
        "revocation_unavailable",
        Duration::from_secs(5),
    )
    .await;
    let e = strict
        .verify(&fine, &Requirement::none())
        .await
        .unwrap_err();
    assert_eq!((e.status(), e.www_authenticate()), (503, None));
    assert!(
        strict.revoke_user("x", None).await.is_err(),
        "writes fail while Redis is down"
    );
    // UseLastKnown: keeps answering from the mirror for the extra minute.
    assert_eq!(code(&lenient, &fine).await, "accepted");
    assert_eq!(code(&lenient, &revoked).await, "revoked");

    redis.restart();
    within(&strict, &fine, "accepted", Duration::from_secs(10)).await;
    assert_eq!(
        code(&strict, &revoked).await,
        "revoked",
        "state survived the restart"
    );
    strict.revoke_session("after-restart").await.unwrap();
    let t = issuer.token().claim("sid", "after-restart").sign();
    within(&lenient, &t, "revoked", Duration::from_secs(5)).await;
}

#[tokio::test]
async fn unreachable_at_start_is_an_error() {
    let port = support::free_port();
    let mut cfg = RedisStoreConfig::new(format!("redis://127.0.0.1:{port}/"));
    cfg.command_timeout = Duration::from_millis(300);
    let r = tokio::time::timeout(Duration::from_secs(10), RedisStore::connect(cfg))
        .await
        .expect("bounded");
    assert!(r.is_err());
}
