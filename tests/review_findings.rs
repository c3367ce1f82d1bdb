//! Regression tests for the security review of 0.1 (issue "Security review
//! findings"). Each test names its finding and failed on 0.1. Findings 1 and
//! 5 (key fingerprints, small-order Ed25519 keys) live in `tests/memo.rs` and
//! `tests/hostile.rs`, finding 13 (actix `require`) in `tests/actix.rs`.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use reauth::revocation::{BoxFuture, MemoryStore, Namespace, RevocationStore, Revoked, StoreError};
use reauth::testing::TestIssuer;
use reauth::{Clock, Requirement, Verifier};
use support::code;

/// A store whose first `fail_first` session writes fail (a Redis blip).
#[derive(Debug)]
struct FlakyStore {
    inner: MemoryStore,
    fail_first: usize,
    writes: AtomicUsize,
}

impl RevocationStore for FlakyStore {
    fn check(
        &self,
        ns: &Namespace,
        sub: &str,
        sid: Option<&str>,
        login_time: i64,
        now: i64,
    ) -> Result<Option<Revoked>, StoreError> {
        self.inner.check(ns, sub, sid, login_time, now)
    }
    fn revoke_user<'a>(
        &'a self,
        ns: &'a Namespace,
        sub: &'a str,
        cutoff: i64,
        keep_until: i64,
        now: i64,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        self.inner.revoke_user(ns, sub, cutoff, keep_until, now)
    }
    fn revoke_session<'a>(
        &'a self,
        ns: &'a Namespace,
        sid: &'a str,
        keep_until: i64,
        now: i64,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        if self.writes.fetch_add(1, Ordering::SeqCst) < self.fail_first {
            return Box::pin(async { Err(StoreError("connection reset".into())) });
        }
        self.inner.revoke_session(ns, sid, keep_until, now)
    }
    fn record_jti<'a>(
        &'a self,
        ns: &'a Namespace,
        jti: &'a str,
        now: i64,
        keep_until: i64,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        self.inner.record_jti(ns, jti, now, keep_until)
    }
}

/// Finding 3: a failed revocation write is a 503 the issuer retries; the
/// retry (same `jti`) revokes the session instead of being called a replay.
#[tokio::test]
async fn a_failed_logout_write_can_be_retried() {
    let issuer = TestIssuer::start().await;
    let store = Arc::new(FlakyStore {
        inner: MemoryStore::new(),
        fail_first: 1,
        writes: AtomicUsize::new(0),
    });
    let v = Verifier::discover(issuer.config().revocation_store(store).build().unwrap())
        .await
        .unwrap();
    let session = issuer.token().claim("sid", "s-1").sign();
    assert_eq!(code(&v, &session).await, "accepted");
    let logout = issuer.logout_token().claim("sid", "s-1").sign();
    let first = v.backchannel_logout(&logout).await.unwrap_err();
    assert_eq!(
        (first.code(), first.status()),
        ("revocation_unavailable", 503)
    );
    assert_eq!(code(&v, &session).await, "accepted", "nothing written yet");
    v.backchannel_logout(&logout)
        .await
        .expect("the retry is not a replay");
    assert_eq!(code(&v, &session).await, "revoked");
    // A real replay, after the write went through, is still refused.
    let replay = v.backchannel_logout(&logout).await.unwrap_err();
    assert_eq!((replay.code(), replay.status()), ("invalid_claim", 400));
}

/// Finding 3 (sub-only logout): the cut-off is the logout token's `iat`, so
/// writing it again (a retry, a replay) never moves it past a later login.
#[tokio::test]
async fn a_sub_only_logout_cuts_off_at_its_iat() {
    let (clock, issuer, v) = support::with_fake_clock().await;
    let logout = issuer
        .logout_token()
        .without("sid")
        .claim("sub", "user-1")
        .sign();
    let before = issuer.token().auth_time_ago(10).sign();
    clock.advance(Duration::from_secs(20));
    let after = issuer.token().auth_time_ago(5).sign();
    v.backchannel_logout(&logout).await.unwrap();
    assert_eq!(code(&v, &before).await, "revoked");
    assert_eq!(
        code(&v, &after).await,
        "accepted",
        "logged in after the logout"
    );
}

/// Finding 4: a logout token (even with `typ: JWT` or none) is not an ID
/// token; and an ID token is still no logout token.
#[tokio::test]
async fn logout_tokens_are_not_id_tokens() {
    let issuer = TestIssuer::start().await;
    let v = issuer.verifier().await;
    for typ in [Some("JWT"), None] {
        let b = issuer.logout_token().claim("sub", "user-1");
        let b = match typ {
            Some(t) => b.header("typ", t),
            None => b.header("typ", serde_json::Value::Null),
        };
        assert_eq!(code(&v, &b.sign()).await, "invalid_token_type", "{typ:?}");
    }
    let id_token = issuer.token().claim("jti", "j-1").claim("sid", "s").sign();
    assert_eq!(
        v.backchannel_logout(&id_token).await.unwrap_err().status(),
        400
    );
}

/// Finding 7: a `sub` or `sid` that cannot be a header value is a 401
/// `invalid_claim` when the claims are checked, never a 5xx later.
#[tokio::test]
async fn header_unsafe_claims_are_invalid() {
    let issuer = TestIssuer::start().await;
    let v = issuer.verifier().await;
    for bad in ["a\r\nX-Evil: 1", "nul\u{0}", "del\u{7f}"] {
        for claim in ["sub", "sid"] {
            let t = issuer.token().claim(claim, bad).sign();
            let e = v.verify(&t, &Requirement::none()).await.unwrap_err();
            assert_eq!((e.code(), e.status()), ("invalid_claim", 401), "{claim}");
        }
    }
}

/// Finding 10: without `auth_time`, a token re-issued after "log out all
/// devices" has a new `iat` but no proof of a new login: revoked, unless
/// the operator opts into trusting `iat`.
#[tokio::test]
async fn tokens_without_auth_time_stay_revoked_after_a_cutoff() {
    let (clock, issuer, v) = support::with_fake_clock().await;
    v.revoke_user("user-1", None).await.unwrap();
    clock.advance(Duration::from_secs(120));
    let reissued = issuer.token().without("auth_time").sign();
    let e = v.verify(&reissued, &Requirement::none()).await.unwrap_err();
    assert_eq!(e.code(), "revoked");
    assert!(e.to_string().contains("auth_time"), "{e}");
    // A user without a cut-off is unaffected.
    let other = issuer
        .token()
        .without("auth_time")
        .claim("sub", "user-2")
        .sign();
    assert_eq!(code(&v, &other).await, "accepted");
    // With a real later login (auth_time), accepted.
    assert_eq!(code(&v, &issuer.token().sign()).await, "accepted");
    // The opt-in: iat after the cut-off counts as the login.
    let lenient = Verifier::discover(
        issuer
            .config()
            .insecure_trust_iat_as_login_time(true)
            .revocation_store(v.revocation_store().clone())
            .build()
            .unwrap(),
    )
    .await
    .unwrap();
    assert_eq!(code(&lenient, &reissued).await, "accepted");
}

/// Finding 11: two issuers sharing one store never see each other's
/// entries.
#[tokio::test]
async fn two_issuers_sharing_a_store_do_not_collide() {
    let store: Arc<dyn RevocationStore> = Arc::new(MemoryStore::new());
    let a = TestIssuer::start().await;
    let b = TestIssuer::start().await;
    let va = Verifier::discover(a.config().revocation_store(store.clone()).build().unwrap())
        .await
        .unwrap();
    let vb = Verifier::discover(b.config().revocation_store(store).build().unwrap())
        .await
        .unwrap();
    va.revoke_user("user-1", None).await.unwrap();
    va.revoke_session("s-1").await.unwrap();
    let tb = b.token().claim("sid", "s-1").auth_time_ago(60).sign();
    assert_eq!(code(&vb, &tb).await, "accepted");
    let ta = a.token().claim("sid", "s-1").auth_time_ago(60).sign();
    assert_eq!(code(&va, &ta).await, "revoked");
}

/// Finding 2 (library): a cut-off in the future is refused, not stored.
#[tokio::test]
async fn future_cutoffs_are_refused() {
    let (clock, _issuer, v) = support::with_fake_clock().await;
    let now = clock.now().timestamp();
    let e = v
        .revoke_user("mallory", Some(now + 40 * 86_400))
        .await
        .unwrap_err();
    assert_eq!((e.code(), e.status()), ("invalid_request", 400));
    // Within the leeway (clock skew between the caller and us) is fine.
    v.revoke_user("mallory", Some(now + 10)).await.unwrap();
}

#[cfg(feature = "cli")]
mod with_the_binary {
    use super::*;
    use reauth::revocation::{RedisStore, RedisStoreConfig};
    use support::{get, redis_cli, serve};

    const BIN: &str = env!("CARGO_BIN_EXE_reauth");

    async fn eventually_status(gate: &support::Gate, token: &str, want: u16) -> u16 {
        let mut last = 0;
        for _ in 0..300 {
            last = get(gate, "/verify", Some(token)).await.status;
            if last == want {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        last
    }

    /// Finding 2 against the real binary and a real Redis: a write about a
    /// far-future cut-off (straight through the store API, which the CLI
    /// now refuses) reaches every gate's mirror and erases nobody else's.
    #[tokio::test]
    async fn one_users_cutoff_never_erases_anothers_on_any_gate() {
        let Some(redis) = support::Redis::start() else {
            return;
        };
        let issuer = TestIssuer::start().await;
        let url = redis.url();
        let g1 = serve(&issuer, &["--redis", &url]).await;
        let g2 = serve(&issuer, &["--redis", &url]).await;
        let alice = issuer
            .token()
            .claim("sub", "alice")
            .auth_time_ago(600)
            .sign();
        let out = tokio::process::Command::new(BIN)
            .args(["revoke", "--redis", &url, "--issuer", issuer.issuer()])
            .args(["--user", "alice"])
            .output()
            .await
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        for g in [&g1, &g2] {
            assert_eq!(eventually_status(g, &alice, 401).await, 401);
        }
        // mallory's far-future cut-off, written as a buggy or hostile writer would.
        let store = RedisStore::connect(RedisStoreConfig::new(url.clone()))
            .await
            .unwrap();
        let now = chrono::Utc::now().timestamp();
        let far = now + 40 * 86_400;
        store
            .revoke_user(
                &Namespace::new(issuer.issuer()),
                "mallory",
                far,
                far + 86_400,
                now,
            )
            .await
            .unwrap();
        let mallory = issuer.token().claim("sub", "mallory").sign();
        for g in [&g1, &g2] {
            assert_eq!(eventually_status(g, &mallory, 401).await, 401);
            // alice's earlier cut-off is still enforced everywhere.
            assert_eq!(get(g, "/verify", Some(&alice)).await.status, 401);
        }
        // And a fresh instance agrees with the running ones.
        let g3 = serve(&issuer, &["--redis", &url]).await;
        assert_eq!(get(&g3, "/verify", Some(&alice)).await.status, 401);
    }

    /// Finding 12: a gate with a 90-day session age registers it in Redis;
    /// `reauth revoke` with a one-day retention still keeps the entry 90 days.
    #[tokio::test]
    async fn retention_is_at_least_the_gates_session_age() {
        let Some(redis) = support::Redis::start() else {
            return;
        };
        let issuer = TestIssuer::start().await;
        let url = redis.url();
        let _gate = serve(&issuer, &["--redis", &url, "--max-session-age", "90d"]).await;
        let out = tokio::process::Command::new(BIN)
            .args(["revoke", "--redis", &url, "--issuer", issuer.issuer()])
            .args(["--user", "alice", "--retention", "1d"])
            .output()
            .await
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        let now = chrono::Utc::now().timestamp();
        let ns = Namespace::new(issuer.issuer());
        let value = redis_cli(redis.port, &["HGET", "{reauth}:users", &ns.scoped("alice")]);
        let keep: i64 = value.split_once(':').unwrap().1.parse().unwrap();
        assert!(
            keep - now >= 90 * 86_400,
            "kept {} s, under the gate's 90 days",
            keep - now
        );
        let expiry = redis_cli(
            redis.port,
            &["ZSCORE", "{reauth}:users:exp", &ns.scoped("alice")],
        );
        assert_eq!(expiry.parse::<i64>().unwrap(), keep);
    }

    /// Findings 6 and 9: query overrides only tighten; `/verify/<path>`
    /// (Envoy's `path_prefix`) is the gate with the original path after it.
    #[tokio::test]
    async fn overrides_only_tighten_and_envoy_paths_work() {
        let issuer = TestIssuer::start().await;
        let gate = serve(
            &issuer,
            &[
                "--max-age",
                "300",
                "--acr-values",
                "urn:loa:2",
                "--require-amr",
                "mfa",
            ],
        )
        .await;
        let strong = issuer
            .token()
            .claim("acr", "urn:loa:2")
            .claim("amr", serde_json::json!(["pwd", "mfa"]))
            .sign();
        let day_old_single_factor = issuer
            .token()
            .auth_time_ago(86_400)
            .claim("acr", "urn:loa:1")
            .claim("amr", serde_json::json!(["pwd"]))
            .sign();
        for query in [
            "acr_values=&amr=&max_age=99999999d",
            "max_age=301",
            "acr_values=urn:loa:1",
            "acr_values=",
            "maxage=1",
        ] {
            let r = get(
                &gate,
                &format!("/verify?{query}"),
                Some(&day_old_single_factor),
            )
            .await;
            assert_eq!(
                (r.status, r.error().as_str()),
                (400, "invalid_request"),
                "{query}"
            );
        }
        assert_eq!(get(&gate, "/verify", Some(&strong)).await.status, 200);
        // Tightening works.
        let r = get(&gate, "/verify?amr=hwk", Some(&strong)).await;
        assert_eq!(
            (r.status, r.error().as_str()),
            (401, "insufficient_authentication")
        );
        // Envoy: /verify/<original path>?<original query> is /verify, and
        // the original query is never read as overrides.
        let r = get(
            &gate,
            "/verify/account/delete?max_age=99999999d",
            Some(&strong),
        )
        .await;
        assert_eq!(r.status, 200);
        assert_eq!(r.header("x-reauth-subject"), Some("user-1"));
        let r = get(
            &gate,
            "/verify/account/delete",
            Some(&day_old_single_factor),
        )
        .await;
        assert_eq!(r.status, 401);
    }

    /// Finding 7 through the gate: 401 `invalid_claim`, not 500.
    #[tokio::test]
    async fn header_unsafe_sub_is_401_at_the_gate() {
        let issuer = TestIssuer::start().await;
        let gate = serve(&issuer, &[]).await;
        let t = issuer.token().claim("sub", "a\r\nX-Evil: 1").sign();
        let r = get(&gate, "/verify", Some(&t)).await;
        assert_eq!((r.status, r.error().as_str()), (401, "invalid_claim"));
    }

    /// Finding 8: the extreme value of every duration option is a
    /// `config_error` (exit 2) or a decision, never a panic.
    #[tokio::test]
    async fn extreme_durations_never_panic() {
        let issuer = TestIssuer::start().await;
        let token = issuer.token().sign();
        for option in [
            "--leeway",
            "--max-age",
            "--jwks-cooldown",
            "--fetch-timeout",
            "--max-session-age",
        ] {
            for value in ["18446744073709551615", "213503982334601d", "0"] {
                let out = tokio::process::Command::new(BIN)
                    .args(["verify", "--issuer", issuer.issuer()])
                    .args(["--audience", "test-client", option, value, &token])
                    .output()
                    .await
                    .unwrap();
                let code = out.status.code();
                assert!(
                    matches!(code, Some(0..=2)),
                    "{option} {value}: exit {code:?}, stderr {}",
                    String::from_utf8_lossy(&out.stderr)
                );
            }
        }
        // The 0.1 crash: a huge leeway with a session age, then a logout.
        let out = tokio::process::Command::new(BIN)
            .args([
                "verify",
                "--issuer",
                issuer.issuer(),
                "--audience",
                "test-client",
            ])
            .args([
                "--leeway",
                "18446744073709551615",
                "--max-session-age",
                "1d",
                &token,
            ])
            .output()
            .await
            .unwrap();
        assert_eq!(out.status.code(), Some(2));
        assert!(String::from_utf8_lossy(&out.stdout).contains("config_error"));
    }
}
