//! The `reauth` binary against the test issuer: exit codes, JSON, stdin,
//! durations, and `serve` as a forward-auth gate.
#![cfg(feature = "cli")]

mod support;

use support::{Gate, Reply, get, serve};

use std::process::Stdio;
use std::time::Duration;

use reauth::testing::{Behavior, TestIssuer, TestKey};
use serde_json::Value;
use tokio::io::AsyncWriteExt;
use tokio::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_reauth");

struct Out {
    code: i32,
    json: Value,
    stdout: String,
}

/// Runs `args`, which must exit 2 with `config_error` (one JSON line).
async fn config_error(args: &[&str]) -> Out {
    let out = run(args, None).await;
    assert_eq!(
        (out.code, out.json["error"].as_str()),
        (2, Some("config_error")),
        "{args:?}"
    );
    out
}

async fn run(args: &[&str], stdin: Option<&str>) -> Out {
    let mut cmd = Command::new(BIN);
    cmd.args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .env_remove("RUST_LOG");
    cmd.env_remove("REAUTH_ISSUER")
        .env_remove("REAUTH_AUDIENCE")
        .kill_on_drop(true);
    let mut child = cmd.spawn().unwrap();
    let mut pipe = child.stdin.take().unwrap();
    if let Some(input) = stdin {
        // The binary reads a bounded prefix: a broken pipe on huge input is expected.
        let _ = pipe.write_all(input.as_bytes()).await;
    }
    drop(pipe);
    let out = tokio::time::timeout(Duration::from_secs(30), child.wait_with_output())
        .await
        .expect("no hang")
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        stdout.lines().count(),
        1,
        "exactly one line on stdout: {stdout:?}"
    );
    Out {
        code: out.status.code().unwrap(),
        json: serde_json::from_str(&stdout).unwrap(),
        stdout,
    }
}

async fn verify(issuer: &TestIssuer, extra: &[&str], token: &str) -> Out {
    let mut args = vec![
        "verify",
        "--issuer",
        issuer.issuer(),
        "--audience",
        "test-client",
    ];
    args.extend_from_slice(extra);
    args.push(token);
    run(&args, None).await
}

#[tokio::test]
async fn accepted_json_shape() {
    let issuer = TestIssuer::start().await;
    let t = issuer.token().claim("sid", "s-9").sign();
    let out = verify(&issuer, &["--max-age", "5m"], &t).await;
    assert_eq!(out.code, 0);
    let keys: Vec<_> = out.json.as_object().unwrap().keys().cloned().collect();
    assert_eq!(
        keys,
        [
            "auth_time",
            "claims",
            "issuer",
            "ok",
            "reauthentication",
            "sub"
        ]
    );
    assert_eq!(
        (out.json["ok"].as_bool(), out.json["sub"].as_str()),
        (Some(true), Some("user-1"))
    );
    assert_eq!(out.json["reauthentication"], "fresh");
    assert!(out.json["auth_time"].is_i64());
    assert_eq!(out.json["claims"]["sid"], "s-9");
    assert!(!out.stdout.trim_end().contains('\n'));
    let out = verify(&issuer, &[], &issuer.token().without("auth_time").sign()).await;
    assert_eq!(
        (
            out.code,
            out.json["auth_time"].is_null(),
            out.json["reauthentication"].as_str()
        ),
        (0, true, Some("not_required"))
    );
}

#[tokio::test]
async fn rejections_exit_1_with_their_code() {
    let issuer = TestIssuer::start().await;
    let old = issuer.token().auth_time_ago(3600).sign();
    let cannot = issuer
        .token()
        .auth_time_ago(3600)
        .can_reauthenticate(false)
        .sign();
    let cases: Vec<(Vec<&str>, String, &str)> = vec![
        (
            vec!["--max-age", "300"],
            old.clone(),
            "authentication_too_old",
        ),
        (vec![], issuer.token().claim("exp", 1).sign(), "expired"),
        (vec![], "not-a-token".into(), "malformed_token"),
        (
            vec![],
            issuer.token().key(&TestKey::rsa("rsa-1")).sign(),
            "invalid_signature",
        ),
        (
            vec!["--max-age", "300"],
            cannot.clone(),
            "reauthentication_unavailable",
        ),
        (
            vec!["--algorithms", "ES256"],
            issuer.token().sign(),
            "unsupported_algorithm",
        ),
        (
            vec!["--acr-values", "urn:loa:2,urn:loa:3"],
            issuer.token().sign(),
            "insufficient_authentication",
        ),
        (
            vec!["--require-amr", "mfa"],
            issuer.token().sign(),
            "insufficient_authentication",
        ),
        (
            vec!["--max-session-age", "30m"],
            old.clone(),
            "authentication_too_old",
        ),
        (
            vec!["--can-reauth-claim", "cr", "--max-age", "5m"],
            issuer.token().auth_time_ago(3600).claim("cr", false).sign(),
            "reauthentication_unavailable",
        ),
    ];
    for (extra, token, code) in cases {
        let out = verify(&issuer, &extra, &token).await;
        assert_eq!(
            (out.code, out.json["error"].as_str()),
            (1, Some(code)),
            "{extra:?}: {}",
            out.stdout
        );
        assert_eq!(out.json["ok"], false);
        assert!(out.json["message"].is_string());
    }
    let out = verify(
        &issuer,
        &["--max-age", "300", "--when-cannot-reauthenticate", "allow"],
        &cannot,
    )
    .await;
    assert_eq!(
        (out.code, out.json["reauthentication"].as_str()),
        (0, Some("unavailable"))
    );
    let out = verify(&issuer, &["--leeway", "0", "--max-age", "3599"], &old).await;
    assert_eq!(out.code, 1);
}

#[tokio::test]
async fn durations() {
    let issuer = TestIssuer::start().await;
    let t = issuer.token().auth_time_ago(100).sign();
    for (max_age, code) in [("90s", 0), ("60", 1), ("2m", 0), ("1h", 0), ("1d", 0)] {
        // 100 s old vs max_age (+30 s leeway).
        assert_eq!(
            verify(&issuer, &["--max-age", max_age], &t).await.code,
            code,
            "{max_age}"
        );
    }
    assert_eq!(
        verify(&issuer, &["--leeway", "0", "--max-age", "90s"], &t)
            .await
            .code,
        1
    );
    let bad = verify(&issuer, &["--max-age", "5 weeks"], &t).await;
    assert_eq!(
        (bad.code, bad.json["error"].as_str()),
        (2, Some("config_error"))
    );
}

#[tokio::test]
async fn token_from_stdin() {
    let issuer = TestIssuer::start().await;
    let t = issuer.token().sign();
    let args = [
        "verify",
        "--issuer",
        issuer.issuer(),
        "--audience",
        "test-client",
        "-",
    ];
    let out = run(&args, Some(&format!("\n  {t}\n\n"))).await;
    assert_eq!(out.code, 0, "{}", out.stdout);
    for pasted in bearer_pastes(&t) {
        let out = run(&args, Some(&format!("{pasted}\n"))).await;
        assert_eq!(out.code, 0, "from stdin: {}", out.stdout);
    }
    let out = run(&args, Some("")).await;
    assert_eq!(
        (out.code, out.json["error"].as_str()),
        (1, Some("malformed_token"))
    );
    let huge = "a".repeat(2 * 1024 * 1024);
    let out = run(&args, Some(&huge)).await;
    assert_eq!(
        (out.code, out.json["error"].as_str()),
        (1, Some("malformed_token"))
    );
}

#[tokio::test]
async fn a_pasted_bearer_prefix_is_accepted() {
    let issuer = TestIssuer::start().await;
    let token = issuer.token().sign();
    for pasted in bearer_pastes(&token) {
        let out = verify(&issuer, &[], &pasted).await;
        assert_eq!(
            (out.code, out.json["ok"].as_bool()),
            (0, Some(true)),
            "{pasted:.12}"
        );
    }
}

/// A token as people paste it from a request: with its scheme, in any case.
fn bearer_pastes(token: &str) -> [String; 3] {
    [
        format!("Bearer {token}"),
        format!("bearer {token}"),
        format!("BEARER   {token}"),
    ]
}

#[tokio::test]
async fn the_readme_sample_has_the_printed_key_order() {
    let issuer = TestIssuer::start().await;
    let out = verify(&issuer, &[], &issuer.token().sign()).await;
    let printed: Vec<String> = out.json.as_object().unwrap().keys().cloned().collect();
    let readme = include_str!("../README.md");
    let sample = readme
        .lines()
        .find(|l| l.starts_with("{\"auth_time\"") || l.starts_with("{\"ok\""))
        .expect("README shows a reauth verify output line");
    let keys: Vec<String> = printed
        .iter()
        .filter(|k| sample.contains(&format!("\"{k}\":")))
        .cloned()
        .collect();
    assert_eq!(keys, printed, "every printed key is in the README sample");
    let positions: Vec<usize> = keys
        .iter()
        .map(|k| sample.find(&format!("\"{k}\":")).unwrap())
        .collect();
    assert!(
        positions.is_sorted(),
        "README order {sample} differs from {printed:?}"
    );
}

#[tokio::test]
async fn could_not_decide_exits_2() {
    let issuer = TestIssuer::start().await;
    let t = issuer.token().sign();
    // Usage errors still print one JSON line.
    config_error(&["verify", "--audience", "x", &t]).await;
    config_error(&[
        "verify",
        "--issuer",
        "http://id.example.com",
        "--audience",
        "x",
        &t,
    ])
    .await;
    let out = verify(&issuer, &["--algorithms", "HS256"], &t).await;
    assert_eq!(
        (out.code, out.json["error"].as_str()),
        (2, Some("config_error"))
    );
    // Wrong issuer (trailing slash): discovery says another issuer.
    let out = run(
        &[
            "verify",
            "--issuer",
            &format!("{}/", issuer.issuer()),
            "--audience",
            "test-client",
            &t,
        ],
        None,
    )
    .await;
    assert_eq!(
        (out.code, out.json["error"].as_str()),
        (2, Some("discovery_failed"))
    );
    issuer.set_jwks_behavior(Behavior::Status(500));
    let out = verify(&issuer, &[], &t).await;
    assert_eq!(
        (out.code, out.json["error"].as_str()),
        (2, Some("keys_unavailable"))
    );
    // A hanging issuer: exit 2 within the fetch timeout, not a hang.
    issuer.set_discovery_behavior(Behavior::Hang);
    let out = verify(&issuer, &["--fetch-timeout", "1s"], &t).await;
    assert_eq!(
        (out.code, out.json["error"].as_str()),
        (2, Some("discovery_failed"))
    );
}

#[tokio::test]
async fn help_lists_every_option_with_its_default() {
    let out = std::process::Command::new(BIN)
        .args(["verify", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8(out.stdout).unwrap();
    for needle in [
        "--issuer",
        "--audience",
        "--max-age",
        "--leeway <DURATION>",
        "--when-cannot-reauthenticate",
        "[default: deny]",
        "--can-reauth-claim",
        "--algorithms",
        "--acr-values",
        "--require-amr",
        "--jwks-cooldown",
        "[default: 30s]",
        "--fetch-timeout",
        "[default: 5s]",
        "TOKEN|-",
    ] {
        assert!(help.contains(needle), "{needle} missing from:\n{help}");
    }
    let out = std::process::Command::new(BIN)
        .args(["serve", "--help"])
        .output()
        .unwrap();
    assert!(
        String::from_utf8(out.stdout)
            .unwrap()
            .contains("[default: 127.0.0.1:8080]")
    );
}

// ---- serve -------------------------------------------------------------

#[tokio::test]
async fn serve_statuses_and_headers() {
    let issuer = TestIssuer::start().await;
    let gate = serve(&issuer, &["--max-age", "5m"]).await;
    assert_eq!(get(&gate, "/healthz", None).await.status, 200);

    let t = issuer.token().claim("sid", "sess-1").sign();
    let r = get(&gate, "/verify", Some(&t)).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("x-reauth-subject"), Some("user-1"));
    assert!(
        r.header("x-reauth-auth-time")
            .unwrap()
            .parse::<i64>()
            .is_ok()
    );
    assert_eq!(r.header("x-reauth-session"), Some("sess-1"));
    let r = get(&gate, "/verify", Some(&issuer.token().sign())).await;
    assert_eq!((r.status, r.header("x-reauth-session")), (200, None));
    // Any method.
    let res = reqwest::Client::new()
        .post(format!("{}/verify", gate.base))
        .bearer_auth(&t)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);

    let r = get(&gate, "/verify", None).await;
    assert_eq!(
        (r.status, r.header("www-authenticate"), r.error().as_str()),
        (401, Some("Bearer"), "missing_token")
    );

    let r = get(&gate, "/verify", Some("garbage")).await;
    assert_eq!(r.status, 401);
    assert!(
        r.header("www-authenticate")
            .unwrap()
            .starts_with("Bearer error=\"invalid_token\", error_description=\"")
    );
    assert_eq!(r.error(), "malformed_token");

    let old = issuer.token().auth_time_ago(3600).sign();
    let r = get(&gate, "/verify", Some(&old)).await;
    assert_eq!(r.status, 401);
    let c = r.header("www-authenticate").unwrap();
    assert!(
        c.starts_with("Bearer error=\"insufficient_user_authentication\", error_description=\"")
            && c.ends_with("max_age=\"300\""),
        "{c}"
    );
    // Per-request overrides may only tighten (security review finding 6):
    // a location cannot allow two hours when the gate says five minutes.
    let r = get(&gate, "/verify?max_age=2h", Some(&old)).await;
    assert_eq!((r.status, r.error().as_str()), (400, "invalid_request"));
    let r = get(
        &gate,
        "/verify?max_age=60",
        Some(&issuer.token().auth_time_ago(120).sign()),
    )
    .await;
    assert!(
        r.header("www-authenticate")
            .unwrap()
            .ends_with("max_age=\"60\"")
    );
    let r = get(&gate, "/verify?acr_values=urn:a,urn:b", Some(&t)).await;
    assert_eq!(
        (r.status, r.error().as_str()),
        (401, "insufficient_authentication")
    );
    assert!(
        r.header("www-authenticate")
            .unwrap()
            .contains("acr_values=\"urn:a urn:b\"")
    );
    let r = get(&gate, "/verify?amr=mfa", Some(&t)).await;
    assert_eq!(r.error(), "insufficient_authentication");
    assert_eq!(
        get(&gate, "/verify?max_age=soon", Some(&t)).await.status,
        400
    );

    let cannot = issuer
        .token()
        .auth_time_ago(3600)
        .can_reauthenticate(false)
        .sign();
    let r = get(&gate, "/verify", Some(&cannot)).await;
    assert_eq!(
        (r.status, r.error().as_str()),
        (403, "reauthentication_unavailable")
    );
}

#[tokio::test]
async fn serve_through_rotation_and_outage() {
    let issuer = TestIssuer::start().await;
    let gate = serve(&issuer, &["--jwks-cooldown", "1s", "--fetch-timeout", "1s"]).await;
    let before = issuer.token().sign();
    assert_eq!(get(&gate, "/verify", Some(&before)).await.status, 200);
    issuer.rotate();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let after = issuer.token().sign();
    assert_eq!(
        get(&gate, "/verify", Some(&after)).await.status,
        200,
        "new kid fetched"
    );
    assert_eq!(
        get(&gate, "/verify", Some(&before)).await.error(),
        "unknown_key"
    );
    // Issuer down: known keys keep serving, unknown kids are rejected, the process stays up.
    issuer.set_jwks_behavior(Behavior::Hang);
    issuer.set_discovery_behavior(Behavior::Status(500));
    for _ in 0..5 {
        assert_eq!(get(&gate, "/verify", Some(&after)).await.status, 200);
    }
    let stranger = issuer.token().key(&TestKey::ec("stranger")).sign();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(
        get(&gate, "/verify", Some(&stranger)).await.error(),
        "unknown_key"
    );
    assert_eq!(get(&gate, "/healthz", None).await.status, 200);
}

#[tokio::test]
async fn serve_without_keys_is_503_until_they_load() {
    let issuer = TestIssuer::start().await;
    issuer.set_jwks_behavior(Behavior::Status(500));
    let gate = serve(&issuer, &["--jwks-cooldown", "1s"]).await;
    assert_eq!(get(&gate, "/healthz", None).await.status, 503);
    let r = get(&gate, "/verify", Some(&issuer.token().sign())).await;
    assert_eq!(
        (r.status, r.error().as_str(), r.header("www-authenticate")),
        (503, "keys_unavailable", None)
    );
    issuer.set_jwks_behavior(Behavior::Normal);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(get(&gate, "/healthz", None).await.status, 200);
    assert_eq!(
        get(&gate, "/verify", Some(&issuer.token().sign()))
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn serve_concurrent_mixed_requests_and_sigterm() {
    let issuer = TestIssuer::start().await;
    let mut gate = serve(&issuer, &["--max-age", "5m"]).await;
    let client = reqwest::Client::new();
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..200 {
        let (token, status, sub) = match i % 3 {
            0 => (
                issuer.token().claim("sub", format!("u{i}")).sign(),
                200,
                Some(format!("u{i}")),
            ),
            1 => (
                issuer
                    .token()
                    .claim("sub", format!("u{i}"))
                    .auth_time_ago(3600)
                    .sign(),
                401,
                None,
            ),
            _ => (format!("bad.{i}.token"), 401, None),
        };
        let (client, url) = (client.clone(), format!("{}/verify", gate.base));
        tasks.spawn(async move {
            let res = client.get(url).bearer_auth(token).send().await.unwrap();
            assert_eq!(res.status().as_u16(), status, "{i}");
            let got = res
                .headers()
                .get("x-reauth-subject")
                .map(|v| v.to_str().unwrap().to_owned());
            assert_eq!(got, sub, "{i}");
        });
    }
    while let Some(r) = tasks.join_next().await {
        r.unwrap();
    }
    assert_eq!(issuer.jwks_requests(), 1);
    let pid = gate.child.id().unwrap().to_string();
    assert!(
        std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let status = tokio::time::timeout(Duration::from_secs(20), gate.child.wait())
        .await
        .expect("stops")
        .unwrap();
    assert_eq!(status.code(), Some(0), "graceful shutdown");
}

async fn post_form(gate: &Gate, path: &str, body: &str) -> Reply {
    let res = reqwest::Client::new()
        .post(format!("{}{path}", gate.base))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body.to_owned())
        .send()
        .await
        .unwrap();
    Reply {
        status: res.status().as_u16(),
        headers: res.headers().clone(),
        body: res.text().await.unwrap(),
    }
}

#[tokio::test]
async fn serve_backchannel_logout() {
    let issuer = TestIssuer::start().await;
    let gate = serve(&issuer, &[]).await;
    let t = issuer.token().claim("sid", "session-1").sign();
    assert_eq!(get(&gate, "/verify", Some(&t)).await.status, 200);
    let logout = issuer.logout_token().sign();
    let r = post_form(
        &gate,
        "/backchannel-logout",
        &format!("logout_token={logout}"),
    )
    .await;
    assert_eq!(
        (r.status, r.header("cache-control")),
        (200, Some("no-store"))
    );
    assert_eq!(get(&gate, "/verify", Some(&t)).await.error(), "revoked");
    let r = post_form(
        &gate,
        "/backchannel-logout",
        &format!("logout_token={logout}"),
    )
    .await;
    assert_eq!(r.status, 400, "replay");
    assert_eq!(
        serde_json::from_str::<Value>(&r.body).unwrap()["error"],
        "invalid_request"
    );
    let with_nonce = issuer.logout_token().claim("nonce", "n").sign();
    assert_eq!(
        post_form(
            &gate,
            "/backchannel-logout",
            &format!("logout_token={with_nonce}")
        )
        .await
        .status,
        400
    );
    assert_eq!(
        post_form(&gate, "/backchannel-logout", "nothing=here")
            .await
            .status,
        400
    );
}

#[tokio::test]
async fn revoke_through_redis_reaches_every_gate() {
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
        .auth_time_ago(60)
        .sign();
    let bob = issuer
        .token()
        .claim("sub", "bob")
        .claim("sid", "bob-phone")
        .sign();
    for g in [&g1, &g2] {
        assert_eq!(get(g, "/verify", Some(&alice)).await.status, 200);
        assert_eq!(get(g, "/verify", Some(&bob)).await.status, 200);
    }
    let out = run(
        &[
            "revoke",
            "--redis",
            &url,
            "--issuer",
            issuer.issuer(),
            "--user",
            "alice",
        ],
        None,
    )
    .await;
    assert_eq!(
        (
            out.code,
            out.json["ok"].as_bool(),
            out.json["revoked"].as_str()
        ),
        (0, Some(true), Some("user"))
    );
    let out = run(
        &[
            "revoke",
            "--redis",
            &url,
            "--issuer",
            issuer.issuer(),
            "--session",
            "bob-phone",
        ],
        None,
    )
    .await;
    assert_eq!(out.code, 0, "{}", out.stdout);
    for g in [&g1, &g2] {
        let mut seen = false;
        for _ in 0..200 {
            if get(g, "/verify", Some(&alice)).await.status == 401
                && get(g, "/verify", Some(&bob)).await.status == 401
            {
                seen = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert!(seen, "revocations reach every gate within the bound");
        assert_eq!(get(g, "/verify", Some(&alice)).await.error(), "revoked");
    }
    // --before in the past: later logins survive.
    let out = run(
        &[
            "revoke",
            "--redis",
            &url,
            "--issuer",
            issuer.issuer(),
            "--user",
            "carol",
            "--before",
            "2020-01-01T00:00:00Z",
        ],
        None,
    )
    .await;
    assert_eq!(
        (out.code, out.json["before"].as_i64()),
        (0, Some(1_577_836_800))
    );
    assert_eq!(
        get(
            &g1,
            "/verify",
            Some(&issuer.token().claim("sub", "carol").sign())
        )
        .await
        .status,
        200
    );
    // Usage and connection errors exit 2 with one JSON line.
    config_error(&["revoke", "--redis", &url, "--issuer", issuer.issuer()]).await;
    let out = run(
        &[
            "revoke",
            "--redis",
            "redis://127.0.0.1:1/",
            "--issuer",
            issuer.issuer(),
            "--user",
            "x",
        ],
        None,
    )
    .await;
    assert_eq!(
        (out.code, out.json["error"].as_str()),
        (2, Some("revocation_unavailable"))
    );
    // A cut-off in the future would lock the user out until then: refused
    // (security review finding 2).
    let future = (chrono::Utc::now().timestamp() + 40 * 86_400).to_string();
    let args = [
        "revoke",
        "--redis",
        &url,
        "--issuer",
        issuer.issuer(),
        "--user",
        "mallory",
        "--before",
        &future,
    ];
    let out = run(&args, None).await;
    assert_eq!(
        (out.code, out.json["error"].as_str()),
        (2, Some("config_error")),
        "{}",
        out.stdout
    );
}

// ---- access tokens -----------------------------------------------------

#[tokio::test]
async fn access_tokens_through_verify_and_serve() {
    use reauth::testing::{TEST_CLIENT_ID, TEST_RESOURCE};
    let issuer = TestIssuer::start().await;
    let access = ["--token-kind", "access", "--audience", TEST_RESOURCE];
    let t = issuer.access_token().claim("scope", "pay read").sign();

    let out = verify(
        &issuer,
        &[&access[..], &["--required-scope", "pay"]].concat(),
        &t,
    )
    .await;
    assert_eq!(out.code, 0, "{}", out.stdout);
    assert_eq!(out.json["client_id"], TEST_CLIENT_ID);
    assert_eq!(out.json["scope"], serde_json::json!(["pay", "read"]));
    assert_eq!(out.json["issuer"], issuer.issuer());
    let out = verify(
        &issuer,
        &[&access[..], &["--required-scope", "admin"]].concat(),
        &t,
    )
    .await;
    assert_eq!(
        (out.code, out.json["error"].as_str()),
        (1, Some("insufficient_scope"))
    );
    // An ID token where access tokens are expected, and the reverse.
    let out = verify(&issuer, &access, &issuer.token().sign()).await;
    assert_eq!(out.json["error"], "invalid_token_type");
    let out = verify(&issuer, &[], &t).await;
    assert_eq!(out.json["error"], "invalid_token_type");
    // Scopes only mean something for access tokens.
    let out = verify(
        &issuer,
        &["--required-scope", "pay"],
        &issuer.token().sign(),
    )
    .await;
    assert_eq!(
        (out.code, out.json["error"].as_str()),
        (2, Some("config_error"))
    );

    let gate = serve(
        &issuer,
        &[&access[..], &["--required-scope", "pay"]].concat(),
    )
    .await;
    let r = get(&gate, "/verify", Some(&t)).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("x-reauth-client-id"), Some(TEST_CLIENT_ID));
    assert_eq!(r.header("x-reauth-scope"), Some("pay read"));
    assert_eq!(r.header("x-reauth-issuer"), Some(issuer.issuer()));
    let r = get(&gate, "/verify", Some(&issuer.access_token().sign())).await;
    assert_eq!((r.status, r.error().as_str()), (403, "insufficient_scope"));
    assert!(
        r.header("www-authenticate")
            .unwrap()
            .contains("scope=\"pay\"")
    );
}

// ---- several issuers ---------------------------------------------------

#[tokio::test]
async fn several_issuers_and_a_tenant_template() {
    let (a, b) = (TestIssuer::start().await, TestIssuer::start().await);
    let both = ["--issuer", b.issuer()];
    let out = verify(&a, &both, &a.token().sign()).await;
    assert_eq!(
        (out.code, out.json["issuer"].as_str()),
        (0, Some(a.issuer()))
    );
    let out = verify(&a, &both, &b.token().sign()).await;
    assert_eq!(
        (out.code, out.json["issuer"].as_str()),
        (0, Some(b.issuer()))
    );
    let stranger = TestIssuer::start().await;
    let out = verify(&a, &both, &stranger.token().sign()).await;
    assert_eq!(
        (out.code, out.json["error"].as_str()),
        (1, Some("invalid_issuer"))
    );

    // Tenants under one server's /realms/{tenant}, an allow-list of one.
    let server = TestIssuer::start().await;
    let (acme, globex) = (server.tenant("acme"), server.tenant("globex"));
    let template = format!("{}/realms/{{tenant}}", server.issuer());
    let args = [
        "verify",
        "--issuer-template",
        &template,
        "--tenants",
        "acme",
        "--audience",
        "test-client",
    ];
    let out = run(&[&args[..], &[acme.token().sign().as_str()]].concat(), None).await;
    assert_eq!(
        (out.code, out.json["issuer"].as_str()),
        (0, Some(acme.issuer())),
        "{}",
        out.stdout
    );
    let out = run(
        &[&args[..], &[globex.token().sign().as_str()]].concat(),
        None,
    )
    .await;
    assert_eq!(
        (out.code, out.json["error"].as_str()),
        (1, Some("invalid_issuer"))
    );
    assert_eq!(globex.discovery_requests(), 0);
    // Bad tenants and templates are usage errors.
    config_error(&[
        "verify",
        "--issuer-template",
        &template,
        "--tenants",
        "Acme",
        "--audience",
        "a",
        "x",
    ])
    .await;
    config_error(&[
        "verify",
        "--issuer-template",
        "https://x.example",
        "--audience",
        "a",
        "x",
    ])
    .await;

    // The gate: the issuer in X-Reauth-Issuer.
    let gate = serve(&a, &both).await;
    let r = get(&gate, "/verify", Some(&b.token().sign())).await;
    assert_eq!(
        (r.status, r.header("x-reauth-issuer")),
        (200, Some(b.issuer()))
    );
    let r = get(&gate, "/verify", Some(&stranger.token().sign())).await;
    assert_eq!((r.status, r.error().as_str()), (401, "invalid_issuer"));
    assert_eq!(get(&gate, "/readyz", None).await.status, 200);
}
