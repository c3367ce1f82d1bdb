//! Regression tests for the third review (issue "Findings of the third
//! review"), the revocation items: one bad id jammed every gate's log
//! reader (1), a newline in an id forged snapshot records (2), logout-token
//! ids were not checked (3), a tenant's revocations died with its evicted
//! verifier (4), and `reauth revoke` reported success for an issuer no gate
//! serves. Each failed on the code before the fix; the Redis ones run
//! against a real `redis-server`.
#![cfg(feature = "cli")]

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use reauth::revocation::{
    MemoryStore, Namespace, RedisStore, RedisStoreConfig, RedisWriter, RevocationStore,
};
use reauth::testing::{TEST_CLIENT_ID, TestIssuer};
use reauth::{IssuerSet, LogoutError, Requirement, RevokeError, TenantTemplate, VerifierConfig};
use support::{Redis, redis_cli};

const BIN: &str = env!("CARGO_BIN_EXE_reauth");

async fn eventually(what: &str, bound: Duration, mut cond: impl FnMut() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(start.elapsed() < bound, "{what}: not within {bound:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// An entry as a writer that breaks the id rule would append it (an old
/// version, a script of the operator's, a hostile writer): the next
/// sequence number and whatever id.
fn append_raw_entry(port: u16, id: &str) {
    let n = redis_cli(port, &["INCR", "{reauth}:seq"]);
    let keep = (chrono::Utc::now().timestamp() + 3600).to_string();
    let out = redis_cli(
        port,
        &[
            "XADD",
            "{reauth}:log",
            "*",
            "n",
            &n,
            "k",
            "s",
            "i",
            id,
            "c",
            "0",
            "e",
            &keep,
        ],
    );
    assert!(out.contains('-'), "XADD answered {out:?}");
}

/// Finding 1 (high): an entry with a control character or over 4 KiB made
/// every reader fail the whole batch, stop syncing and answer 503 within
/// `max_staleness`. Now it is skipped, counted, and the reader goes on.
#[tokio::test]
async fn one_bad_log_entry_never_jams_a_gate() {
    let Some(redis) = Redis::start() else { return };
    let mut cfg = RedisStoreConfig::new(redis.url());
    cfg.max_staleness = Duration::from_secs(1);
    cfg.block = Duration::from_millis(200);
    let gate = RedisStore::connect(cfg).await.unwrap();
    let ns = Namespace::new("https://issuer.example");
    append_raw_entry(redis.port, &ns.scoped("windows-line\r"));
    append_raw_entry(redis.port, &ns.scoped(&"x".repeat(5000)));
    append_raw_entry(redis.port, "no-issuer-tag");
    // A good revocation after them is applied...
    let writer = RedisWriter::connect(&RedisStoreConfig::new(redis.url()))
        .await
        .unwrap();
    let now = chrono::Utc::now().timestamp();
    writer
        .revoke_sessions(&ns, &["after-the-bad-ones".into()], now + 3600, now, |_| {})
        .await
        .unwrap();
    eventually("the good entry applied", Duration::from_secs(10), || {
        gate.mirror_len() == (0, 1)
    })
    .await;
    assert_eq!(gate.skipped(), 3, "each bad entry counted once");
    // ...and the gate keeps vouching for its answers well past max_staleness.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let revoked = gate.check(&ns, "bob", Some("after-the-bad-ones"), now, now);
    assert!(matches!(revoked, Ok(Some(_))), "{revoked:?}");
    assert!(gate.check(&ns, "alice", None, now, now).unwrap().is_none());
    assert!(gate.staleness() < Duration::from_secs(1), "still following");
    let sync = gate.sync().unwrap();
    assert_eq!(sync.skipped, 3);
}

/// Findings 1 and 2: ids are validated where they are written. A newline in
/// a `sid` would have appended a second, forged record to the snapshot
/// (revoking alice's session on every gate that loads it).
#[tokio::test]
async fn ids_that_could_forge_records_are_never_written() {
    let Some(redis) = Redis::start() else { return };
    let issuer = TestIssuer::start().await;
    let store = RedisStore::connect(RedisStoreConfig::new(redis.url()))
        .await
        .unwrap();
    let v = reauth::Verifier::discover(
        issuer
            .config()
            .revocation_store(store.clone())
            .build()
            .unwrap(),
    )
    .await
    .unwrap();
    let ns = Namespace::new(issuer.issuer());
    let far = chrono::Utc::now().timestamp() + 86_400 * 365;
    let forging = format!("x\n{}\t{far}", ns.scoped("alice-session"));
    for bad in [forging.as_str(), "tab\there", "cr\r", "", &"y".repeat(1025)] {
        let e = v.revoke_session(bad).await.unwrap_err();
        assert!(
            matches!(e, RevokeError::InvalidId { what: "sid", .. }),
            "{bad:?}: {e:?}"
        );
        assert_eq!((e.status(), e.code()), (400, "invalid_request"));
        assert!(matches!(
            v.revoke_user(bad, None).await,
            Err(RevokeError::InvalidId { what: "sub", .. })
        ));
    }
    // The writer refuses them too (`reauth revoke`, bulk callers).
    let writer = store.writer();
    let now = chrono::Utc::now().timestamp();
    assert!(
        writer
            .revoke_sessions(&ns, std::slice::from_ref(&forging), far, now, |_| {})
            .await
            .is_err()
    );
    assert_eq!(redis_cli(redis.port, &["ZCARD", "{reauth}:sessions"]), "0");
    assert_eq!(redis_cli(redis.port, &["XLEN", "{reauth}:log"]), "0");
    // A gate that loads the snapshot revokes nobody.
    let fresh = RedisStore::connect(RedisStoreConfig::new(redis.url()))
        .await
        .unwrap();
    assert_eq!(fresh.mirror_len(), (0, 0));
    let alice = issuer.token().claim("sid", "alice-session").sign();
    assert!(v.verify(&alice, &Requirement::none()).await.is_ok());
}

/// Finding 2, the reader's side: records in the snapshot strings that break
/// the id rule (written by anything but our writers) are skipped and
/// counted, never loaded.
#[tokio::test]
async fn unreadable_snapshot_records_are_skipped_and_counted() {
    let Some(redis) = Redis::start() else { return };
    let ns = Namespace::new("https://issuer.example");
    let far = (chrono::Utc::now().timestamp() + 3600).to_string();
    let records = format!(
        "\n{}\t{far}\n{}\t{far}\nuntagged\t{far}\n{}\t{far}",
        ns.scoped("good"),
        ns.scoped("bad\r"),
        ns.scoped("also-good"),
    );
    redis_cli(redis.port, &["SET", "{reauth}:b:s:7", &records]);
    redis_cli(redis.port, &["ZADD", "{reauth}:sessions", &far, "x"]);
    let store = RedisStore::connect(RedisStoreConfig::new(redis.url()))
        .await
        .unwrap();
    assert_eq!(store.mirror_len(), (0, 2));
    assert_eq!(store.skipped(), 2);
}

/// Finding 3: a signed logout token's `sid`/`sub` went to the store
/// unchecked (the delivery of 1 or 2). They follow the ID-token rule now:
/// 400 `invalid_claim`, nothing written.
#[tokio::test]
async fn logout_token_ids_are_checked_like_id_token_claims() {
    let issuer = TestIssuer::start().await;
    let store = Arc::new(MemoryStore::new());
    let v = reauth::Verifier::discover(
        issuer
            .config()
            .revocation_store(store.clone())
            .build()
            .unwrap(),
    )
    .await
    .unwrap();
    for (claim, value) in [
        ("sid", "s1\r"),
        ("sid", "a\nb"),
        ("sid", ""),
        ("sub", "alice\u{0}"),
    ] {
        let mut b = issuer.logout_token();
        if claim == "sub" {
            b = b.without("sid");
        }
        let token = b.claim(claim, value).sign();
        let e = v.backchannel_logout(&token).await.unwrap_err();
        assert!(
            matches!(&e, LogoutError::Rejected(r) if r.code() == "invalid_claim"),
            "{claim}={value:?}: {e:?}"
        );
        assert_eq!(e.status(), 400);
    }
    let long = "z".repeat(1025);
    let token = issuer.logout_token().claim("sid", long.as_str()).sign();
    assert_eq!(
        v.backchannel_logout(&token).await.unwrap_err().status(),
        400
    );
    assert!(store.is_empty(), "nothing was written");
    // ID tokens follow the same rule (sub/sid over the cap, C1 controls).
    let token = issuer.token().claim("sid", long.as_str()).sign();
    assert_eq!(support::code(&v, &token).await, "invalid_claim");
    let token = issuer.token().claim("sub", "a\u{85}b").sign();
    assert_eq!(support::code(&v, &token).await, "invalid_claim");
}

/// Finding 4: with a tenant template and no shared store, each tenant's
/// revocations lived in its cached verifier; evicting it (other tenants'
/// tokens) brought a logged-out session back. One store for the set now.
#[tokio::test]
async fn a_tenants_revocations_outlive_its_evicted_verifier() {
    let server = TestIssuer::start().await;
    let template = TenantTemplate::new(
        &format!("{}/realms/{{tenant}}", server.issuer()),
        |issuer, _tenant| {
            VerifierConfig::builder(issuer)
                .audience(TEST_CLIENT_ID)
                .http_timeout(Duration::from_secs(2))
                .build()
        },
    )
    .unwrap()
    .max_issuers(4);
    let set = IssuerSet::new(Vec::<reauth::Verifier>::new(), Some(template)).unwrap();
    let verifiers = reauth::Verifiers::Set(set.clone());
    let acme = server.tenant("acme");
    let none = Requirement::none();
    let session = acme.token().claim("sid", "acme-laptop").sign();
    assert!(set.verify(&session, &none).await.is_ok());
    let logout = acme.logout_token().claim("sid", "acme-laptop").sign();
    verifiers.backchannel_logout(&logout).await.unwrap();
    assert_eq!(
        set.verify(&session, &none).await.unwrap_err().code(),
        "revoked"
    );
    // Other tenants' tokens push acme's verifier out of the cache.
    let cached = |set: &IssuerSet| {
        set.known()
            .iter()
            .any(|v| v.config().issuer() == acme.issuer())
    };
    for i in 0..200 {
        if !cached(&set) {
            break;
        }
        // Each seen twice (two tokens, no memo hit): hot, as acme is.
        let other = server.tenant(&format!("other-{i}"));
        for k in 0..2 {
            let token = other.token().claim("k", k).sign();
            assert!(set.verify(&token, &none).await.is_ok(), "other-{i}");
        }
    }
    assert!(
        !cached(&set),
        "acme's verifier was evicted ({} cached)",
        set.known().len()
    );
    let before = set.discoveries();
    // A token of the same session not seen before (no memo entry).
    let again = acme
        .token()
        .claim("sid", "acme-laptop")
        .auth_time_ago(1)
        .sign();
    assert_eq!(
        set.verify(&again, &none).await.unwrap_err().code(),
        "revoked",
        "the logged-out session stays out after acme is discovered again"
    );
    assert_eq!(set.discoveries(), before + 1, "acme was discovered again");
}

struct Out {
    code: i32,
    json: serde_json::Value,
}

async fn revoke(args: &[&str]) -> Out {
    let out = tokio::process::Command::new(BIN)
        .arg("revoke")
        .args(args)
        .env_remove("REAUTH_ISSUER")
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    Out {
        code: out.status.code().unwrap(),
        json: serde_json::from_str(stdout.trim()).unwrap_or_else(|_| panic!("{stdout:?}")),
    }
}

/// The new user's worst trap: `reauth revoke --issuer http://host:port/`
/// (a trailing slash) or `localhost` for `127.0.0.1` printed `"ok":true`,
/// exited 0 and revoked nothing any gate enforces. Gates record the issuers
/// they serve; `revoke` refuses any other, naming those recorded.
#[tokio::test]
async fn revoke_refuses_an_issuer_no_gate_serves() {
    let Some(redis) = Redis::start() else { return };
    let url = redis.url();
    let issuer = TestIssuer::start().await;
    // A store no gate has used yet: refused, naming the override.
    let out = revoke(&["--redis", &url, "--issuer", issuer.issuer(), "--user", "a"]).await;
    assert_eq!(
        (out.code, out.json["error"].as_str()),
        (2, Some("config_error"))
    );
    let message = out.json["message"].as_str().unwrap();
    assert!(message.contains("--allow-unknown-issuer"), "{message}");
    // A gate starts and records its issuer.
    let _gate = reauth::Verifier::discover(
        issuer
            .config()
            .revocation_store(
                RedisStore::connect(RedisStoreConfig::new(url.clone()))
                    .await
                    .unwrap(),
            )
            .build()
            .unwrap(),
    )
    .await
    .unwrap();
    let slash = format!("{}/", issuer.issuer());
    let localhost = issuer.issuer().replace("127.0.0.1", "localhost");
    for wrong in [slash.as_str(), localhost.as_str()] {
        let out = revoke(&["--redis", &url, "--issuer", wrong, "--user", "alice"]).await;
        assert_eq!(
            (out.code, out.json["error"].as_str()),
            (2, Some("config_error")),
            "{wrong}"
        );
        assert_eq!(out.json["recorded_issuers"][0], issuer.issuer());
        let message = out.json["message"].as_str().unwrap();
        assert!(message.contains(issuer.issuer()), "{message}");
        if wrong == slash {
            assert!(message.contains("Did you mean"), "{message}");
        }
    }
    assert_eq!(redis_cli(redis.port, &["HLEN", "{reauth}:users"]), "0");
    // The exact issuer is written; the override writes anyway.
    let out = revoke(&[
        "--redis",
        &url,
        "--issuer",
        issuer.issuer(),
        "--user",
        "alice",
    ])
    .await;
    assert_eq!((out.code, out.json["ok"].as_bool()), (0, Some(true)));
    let out = revoke(&[
        "--redis",
        &url,
        "--issuer",
        &slash,
        "--user",
        "alice",
        "--allow-unknown-issuer",
    ])
    .await;
    assert_eq!(out.code, 0);
    // A single id that breaks the rule: 400-style refusal, nothing written.
    for bad in ["cr\r", &"x".repeat(5000)] {
        let out = revoke(&[
            "--redis",
            &url,
            "--issuer",
            issuer.issuer(),
            "--session",
            bad,
        ])
        .await;
        assert_eq!(
            (out.code, out.json["error"].as_str()),
            (2, Some("invalid_request"))
        );
    }
    assert_eq!(redis_cli(redis.port, &["ZCARD", "{reauth}:sessions"]), "0");
}

/// Finding 10: Redis expiry used the writing host's clock; a writer whose
/// clock ran ahead expired other entries early. An entry is now dropped
/// only when Redis's clock agrees.
#[tokio::test]
async fn a_writer_with_a_fast_clock_expires_nothing_early() {
    let Some(redis) = Redis::start() else { return };
    let mut cfg = RedisStoreConfig::new(redis.url());
    cfg.compact_every = 1;
    let writer = RedisWriter::connect(&cfg).await.unwrap();
    let ns = Namespace::new("https://issuer.example");
    let now = chrono::Utc::now().timestamp();
    writer
        .revoke_sessions(&ns, &["kept-an-hour".into()], now + 3600, now, |_| {})
        .await
        .unwrap();
    // A host two hours ahead writes.
    let ahead = now + 7200;
    writer
        .revoke_sessions(&ns, &["other".into()], ahead + 3600, ahead, |_| {})
        .await
        .unwrap();
    let score = redis_cli(
        redis.port,
        &["ZSCORE", "{reauth}:sessions", &ns.scoped("kept-an-hour")],
    );
    assert_eq!(score, (now + 3600).to_string(), "still held");
    let gate = RedisStore::connect(RedisStoreConfig::new(redis.url()))
        .await
        .unwrap();
    assert_eq!(gate.mirror_len(), (0, 2));
}

/// The new user's trap: `TokenSource::Cookie` had no cross-site check (a
/// cross-site form POST to a cookie-authenticated route answered 200). The
/// step-up flow refused it; the plain cookie source does too now, in both
/// adapters.
mod cookie_source_csrf {
    use actix_web::{App, HttpResponse, test, web};
    use axum::body::Body;
    use axum::http::Request;
    use axum::routing::post as axum_post;
    use reauth::testing::TestIssuer;
    use reauth::{Requirement, TokenSource};
    use tower::ServiceExt;

    /// (method, extra headers, expected status)
    type Case = (&'static str, Vec<(&'static str, &'static str)>, u16);

    fn cases() -> Vec<Case> {
        vec![
            ("POST", vec![("Sec-Fetch-Site", "cross-site")], 403),
            ("POST", vec![("Sec-Fetch-Site", "same-site")], 403),
            ("POST", vec![("Origin", "https://evil.example")], 403),
            ("POST", vec![("Origin", "null")], 403),
            ("DELETE", vec![("Sec-Fetch-Site", "cross-site")], 403),
            ("POST", vec![("Sec-Fetch-Site", "same-origin")], 200),
            ("POST", vec![("Origin", "http://app.example:8080")], 200),
            ("POST", vec![], 200),
            ("GET", vec![("Sec-Fetch-Site", "cross-site")], 200),
        ]
    }

    #[actix_web::test]
    async fn actix_refuses_cross_site_requests_with_the_cookie() {
        let issuer = TestIssuer::start().await;
        let token = issuer.token().sign();
        let app = test::init_service(
            App::new()
                .app_data(issuer.verifier().await)
                .app_data(TokenSource::Cookie("id_token".into()))
                .app_data(Requirement::none())
                .route(
                    "/delete",
                    web::route().to(|_: reauth::actix::Reauthenticated| async {
                        HttpResponse::Ok().finish()
                    }),
                ),
        )
        .await;
        for (method, headers, want) in cases() {
            let mut req = test::TestRequest::default()
                .method(method.parse().unwrap())
                .uri("/delete")
                .insert_header(("Host", "app.example:8080"))
                .insert_header(("Cookie", format!("id_token={token}")));
            for h in &headers {
                req = req.insert_header(*h);
            }
            let res = test::call_service(&app, req.to_request()).await;
            assert_eq!(res.status().as_u16(), want, "{method} {headers:?}");
            if want == 403 {
                let body: serde_json::Value = test::read_body_json(res).await;
                assert_eq!(body["error"], "cross_site_request");
            }
        }
        // An anonymous cross-site post authenticates nobody: the usual 401.
        let req = test::TestRequest::post()
            .uri("/delete")
            .insert_header(("Sec-Fetch-Site", "cross-site"))
            .to_request();
        assert_eq!(test::call_service(&app, req).await.status(), 401);
    }

    #[tokio::test]
    async fn axum_refuses_cross_site_requests_with_the_cookie() {
        let issuer = TestIssuer::start().await;
        let token = issuer.token().sign();
        let app = axum::Router::new()
            .route(
                "/delete",
                axum_post(|_: reauth::axum::Reauthenticated| async { "ok" })
                    .delete(|_: reauth::axum::Reauthenticated| async { "ok" })
                    .get(|_: reauth::axum::Reauthenticated| async { "ok" }),
            )
            .layer(axum::Extension(Requirement::none()))
            .layer(axum::Extension(TokenSource::Cookie("id_token".into())))
            .with_state(issuer.verifier().await);
        for (method, headers, want) in cases() {
            let mut req = Request::builder()
                .method(method)
                .uri("/delete")
                .header("Host", "app.example:8080")
                .header("Cookie", format!("id_token={token}"));
            for (k, v) in &headers {
                req = req.header(*k, *v);
            }
            let res = app
                .clone()
                .oneshot(req.body(Body::empty()).unwrap())
                .await
                .unwrap();
            assert_eq!(res.status().as_u16(), want, "{method} {headers:?}");
        }
    }
}

/// The new user's traps: refusals that did not name their values, and
/// settings that could never work, accepted silently.
mod messages {
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    use actix_web::{App, HttpResponse, test, web};
    use reauth::testing::{TEST_CLIENT_ID, TestIssuer};
    use reauth::{IssuerSet, Requirement, TenantTemplate, VerifierConfig};

    /// Everything logged while `f` runs on this thread.
    #[derive(Clone, Default)]
    struct Logs(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Logs {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl Logs {
        fn capture(&self) -> tracing::subscriber::DefaultGuard {
            let logs = self.clone();
            let subscriber = tracing_subscriber::fmt()
                .with_writer(move || logs.clone())
                .with_ansi(false)
                .with_max_level(tracing::Level::DEBUG)
                .finish();
            tracing::subscriber::set_default(subscriber)
        }
        fn text(&self) -> String {
            String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
        }
    }

    #[tokio::test]
    async fn audience_and_clock_refusals_name_their_values() {
        let issuer = TestIssuer::start().await;
        let v = issuer.verifier().await;
        let none = Requirement::none();
        let e = v
            .verify(&issuer.token().claim("aud", "other-app").sign(), &none)
            .await
            .unwrap_err();
        let m = e.message();
        assert!(
            m.contains("\"other-app\"") && m.contains(TEST_CLIENT_ID),
            "{m}"
        );
        let now = chrono::Utc::now().timestamp();
        let e = v
            .verify(&issuer.token().claim("exp", now - 120).sign(), &none)
            .await
            .unwrap_err();
        let m = e.message();
        assert!(m.contains("120 s ago") && m.contains("leeway"), "{m}");
        let e = v
            .verify(&issuer.token().claim("iat", now + 600).sign(), &none)
            .await
            .unwrap_err();
        let m = e.message();
        assert!(m.contains("s in the future") && m.contains("leeway"), "{m}");
        let e = v
            .verify(&issuer.token().claim("nbf", now + 600).sign(), &none)
            .await
            .unwrap_err();
        assert!(e.message().contains("s in the future"), "{}", e.message());
    }

    fn template(t: &str) -> Result<TenantTemplate, reauth::ConfigError> {
        TenantTemplate::new(t, |issuer, _| {
            VerifierConfig::builder(issuer)
                .audience(TEST_CLIENT_ID)
                .http_timeout(Duration::from_secs(2))
                .build()
        })
    }

    #[tokio::test]
    async fn settings_that_can_never_match_are_refused_at_build() {
        let no_verifiers = Vec::<reauth::Verifier>::new;
        let t = template("https://{tenant}.example.com").unwrap();
        let e = IssuerSet::new(no_verifiers(), Some(t.tenants(["acme", "ACME"]))).unwrap_err();
        assert!(e.to_string().contains("\"ACME\" can never match"), "{e}");
        let e = template("https://sso.example.com/realms/{tenant}/")
            .expect_err("a slash after a path is refused");
        assert!(e.to_string().contains("remove the slash"), "{e}");
        // Auth0's issuers end with a slash after the host: kept.
        assert!(template("https://{tenant}.auth0.com/").is_ok());
        let e = template("https://example.com/realms/").unwrap_err();
        assert!(e.to_string().contains("no {tenant}"), "{e}");
    }

    #[tokio::test]
    async fn an_unknown_tenant_issuer_is_logged_with_the_template() {
        let server = TestIssuer::start().await;
        let t = template(&format!("{}/realms/{{tenant}}", server.issuer())).unwrap();
        let set = IssuerSet::new(Vec::<reauth::Verifier>::new(), Some(t)).unwrap();
        let logs = Logs::default();
        let _guard = logs.capture();
        // A token whose iss has a slash the template does not.
        let iss = format!("{}/realms/acme/", server.issuer());
        let token = server.token().claim("iss", iss.as_str()).sign();
        let e = set.verify(&token, &Requirement::none()).await.unwrap_err();
        assert_eq!(e.code(), "invalid_issuer");
        let text = logs.text();
        assert!(text.contains("invalid_issuer"), "{text}");
        assert!(text.contains("/realms/{tenant}"), "the template: {text}");
        assert!(text.contains("trailing slash"), "the hint: {text}");
    }

    #[actix_web::test]
    async fn a_verifier_in_an_arc_is_named_as_the_problem() {
        let issuer = TestIssuer::start().await;
        let logs = Logs::default();
        let _guard = logs.capture();
        let app = test::init_service(
            App::new()
                .app_data(web::Data::new(Arc::new(issuer.verifier().await)))
                .app_data(Requirement::none())
                .route(
                    "/me",
                    web::get().to(|_: reauth::actix::Reauthenticated| async {
                        HttpResponse::Ok().finish()
                    }),
                ),
        )
        .await;
        let req = test::TestRequest::get()
            .uri("/me")
            .insert_header(("Authorization", format!("Bearer {}", issuer.token().sign())))
            .to_request();
        assert_eq!(test::call_service(&app, req).await.status(), 500);
        let text = logs.text();
        assert!(text.contains("web::Data<Arc<Verifier>>"), "{text}");
    }
}
