//! `reauth serve` in production shape, with a real test issuer on
//! loopback: the policy file (`--config`, `--check-config`, SIGHUP),
//! `/livez` and `/readyz`, `Retry-After`, metrics and the decision log.

mod support;

use std::time::Duration;

use reauth::testing::{Behavior, TestIssuer};
use support::{BIN, Gate, Redis, free_port, get, serve, serve_env};

const POLICY: &str = r#"
[defaults]
max_age = "15m"

[[route]]
name = "static"
path = "/static/**"
public = true

[[route]]
name = "delete-account"
methods = ["POST", "DELETE"]
path = "/account/delete"
max_age = "5m"

[[route]]
name = "cannot-ok"
path = "/profile/**"
when_cannot_reauthenticate = "allow"
"#;

fn policy_file(text: &str) -> tempfile_path::TempPath {
    tempfile_path::write(text)
}

/// A file under the system temp directory, removed on drop.
mod tempfile_path {
    pub struct TempPath(pub std::path::PathBuf);
    impl Drop for TempPath {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }
    impl TempPath {
        pub fn as_str(&self) -> &str {
            self.0.to_str().unwrap()
        }
    }
    pub fn write(text: &str) -> TempPath {
        let path = std::env::temp_dir().join(format!(
            "reauth-policy-{}-{}.toml",
            std::process::id(),
            super::free_port()
        ));
        std::fs::write(&path, text).unwrap();
        TempPath(path)
    }
}

struct Sent {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: String,
}

impl Sent {
    fn code(&self) -> String {
        serde_json::from_str::<serde_json::Value>(&self.body).unwrap()["error"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(|v| v.to_str().unwrap())
    }
}

/// `/verify` as nginx would call it for `method uri`.
async fn through(gate: &Gate, method: &str, uri: &str, token: Option<&str>) -> Sent {
    send(
        gate,
        "/verify",
        token,
        &[("X-Original-Method", method), ("X-Original-URI", uri)],
    )
    .await
}

async fn send(gate: &Gate, path: &str, token: Option<&str>, headers: &[(&str, &str)]) -> Sent {
    let mut req = reqwest::Client::new().get(format!("{}{path}", gate.base));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let res = req.send().await.unwrap();
    Sent {
        status: res.status().as_u16(),
        headers: res.headers().clone(),
        body: res.text().await.unwrap(),
    }
}

#[tokio::test]
async fn routes_from_the_file_decide() {
    let issuer = TestIssuer::start().await;
    let file = policy_file(POLICY);
    let gate = serve(&issuer, &["--config", file.as_str()]).await;
    let fresh = issuer.token().auth_time_ago(60).claim("sid", "s1").sign();
    let ten_minutes = issuer.token().auth_time_ago(600).sign();

    // Public: no token needed, no identity given.
    let r = through(&gate, "GET", "/static/app.js", None).await;
    assert_eq!(
        (r.status, r.header("x-reauth-route")),
        (200, Some("static"))
    );
    assert_eq!(r.header("x-reauth-subject"), None);

    // The route's own max_age (5 min), not the default's (15 min).
    let r = through(&gate, "POST", "/account/delete", Some(&fresh)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.header("x-reauth-route"), Some("delete-account"));
    assert_eq!(r.header("x-reauth-session"), Some("s1"));
    let r = through(&gate, "POST", "/account/delete", Some(&ten_minutes)).await;
    assert_eq!(r.status, 401);
    let challenge = r.header("www-authenticate").unwrap();
    assert!(challenge.contains("max_age=\"300\""), "{challenge}");
    // Disguised, it is still that route.
    let r = through(&gate, "POST", "/Account//./delete/", Some(&ten_minutes)).await;
    assert_eq!(
        (r.status, r.code().as_str()),
        (401, "authentication_too_old")
    );

    // No route: 403 with its own code, even with a good token.
    let r = through(&gate, "GET", "/account/delete", Some(&fresh)).await;
    assert_eq!((r.status, r.code().as_str()), (403, "no_route"));
    assert_eq!(r.header("x-reauth-error"), Some("no_route"));
    // Ambiguous: refused.
    let r = through(&gate, "POST", "/static/%2e%2e/account/delete", Some(&fresh)).await;
    assert_eq!((r.status, r.code().as_str()), (403, "ambiguous_request"));
    // A client-sent X-Forwarded-Uri that disagrees with the proxy's.
    let r = send(
        &gate,
        "/verify",
        None,
        &[
            ("X-Original-Method", "GET"),
            ("X-Original-URI", "/account/delete"),
            ("X-Forwarded-Uri", "/static/x"),
        ],
    )
    .await;
    assert_eq!((r.status, r.code().as_str()), (403, "ambiguous_request"));

    // The per-route can-reauthenticate policy.
    let cannot = issuer
        .token()
        .auth_time_ago(3600)
        .can_reauthenticate(false)
        .sign();
    let r = through(&gate, "GET", "/profile/email", Some(&cannot)).await;
    assert_eq!(
        (r.status, r.header("x-reauth-reauthentication")),
        (200, Some("unavailable"))
    );
    let r = through(&gate, "POST", "/account/delete", Some(&cannot)).await;
    assert_eq!(
        (r.status, r.code().as_str()),
        (403, "reauthentication_unavailable")
    );

    // The proxy sends no original URI: the operator's mistake, 500 and a
    // log line naming the fix; never a pass.
    let r = send(&gate, "/verify", Some(&fresh), &[]).await;
    assert_eq!((r.status, r.code().as_str()), (500, "server_error"));
    assert!(gate.logged("X-Original-URI"));
    // Methods are used by the file: the method is needed too.
    let r = send(
        &gate,
        "/verify",
        Some(&fresh),
        &[("X-Original-URI", "/profile")],
    )
    .await;
    assert_eq!(r.status, 500);

    // Query overrides still tighten a route.
    let r = send(
        &gate,
        "/verify?max_age=1m",
        Some(&issuer.token().auth_time_ago(120).sign()),
        &[
            ("X-Original-Method", "POST"),
            ("X-Original-URI", "/account/delete"),
        ],
    )
    .await;
    assert_eq!(r.status, 401);

    // Envoy: the original request under /verify.
    let res = reqwest::Client::new()
        .post(format!("{}/verify/account/delete?x=1", gate.base))
        .bearer_auth(&fresh)
        .header("content-length", "0")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["x-reauth-route"], "delete-account");

    // A proxy pointed at /verify/ by mistake that also sends the original
    // URI: 500, never every request read as "/".
    let r = send(
        &gate,
        "/verify/",
        Some(&fresh),
        &[
            ("X-Original-Method", "POST"),
            ("X-Original-URI", "/account/delete"),
        ],
    )
    .await;
    assert_eq!(r.status, 500);
    assert!(gate.logged("point it at /verify exactly"));

    // A forwarded body is refused (the proxy must not send it).
    let res = reqwest::Client::new()
        .post(format!("{}/verify", gate.base))
        .bearer_auth(&fresh)
        .header("X-Original-Method", "POST")
        .header("X-Original-URI", "/account/delete")
        .body(vec![b'x'; 1024])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    assert!(gate.logged("proxy_pass_request_body off"));
}

#[tokio::test]
async fn without_a_file_the_command_line_and_overrides_apply() {
    let issuer = TestIssuer::start().await;
    let gate = serve(&issuer, &["--max-age", "5m"]).await;
    let old = issuer.token().auth_time_ago(600).sign();
    // No original request needed, no route header.
    let r = get(
        &gate,
        "/verify",
        Some(&issuer.token().auth_time_ago(10).sign()),
    )
    .await;
    assert_eq!((r.status, r.header("x-reauth-route")), (200, None));
    assert_eq!(get(&gate, "/verify", Some(&old)).await.status, 401);
}

#[tokio::test]
async fn a_file_and_requirement_flags_together_fail_at_start() {
    let file = policy_file(POLICY);
    let out = tokio::process::Command::new(BIN)
        .args([
            "serve",
            "--issuer",
            "https://issuer.example",
            "--audience",
            "a",
        ])
        .args(["--config", file.as_str(), "--max-age", "5m"])
        .output()
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("[defaults]"));
    // An invalid file fails the start, with its errors.
    let bad = policy_file("[[route]]\nname = 'x'\npath = 'x'\n");
    let out = tokio::process::Command::new(BIN)
        .args([
            "serve",
            "--issuer",
            "https://issuer.example",
            "--audience",
            "a",
        ])
        .args(["--config", bad.as_str()])
        .output()
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains(":3:8: path"));
}

#[tokio::test]
async fn check_config_reports_every_error_with_its_place() {
    let good = policy_file(POLICY);
    let out = std::process::Command::new(BIN)
        .args(["serve", "--check-config", good.as_str()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("3 route(s)"));
    let bad = policy_file(
        "[[route]]\nname = 'all'\npath = '/**'\nmax_age = '5 minutes'\n\n[[route]]\nname = 'x'\npath = '/x'\nsurprise = 1\n",
    );
    let out = std::process::Command::new(BIN)
        .args(["serve", "--check-config", bad.as_str()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    let at = |place: &str| format!("{}:{place}", bad.as_str());
    assert!(err.contains(&at("4:11: ")), "{err}");
    assert!(
        err.contains(&at("6:1: route \"x\" can never match")),
        "{err}"
    );
    assert!(err.contains(&at("9:1: unknown key \"surprise\"")), "{err}");
    assert!(err.contains("3 error(s)"), "{err}");
    let out = std::process::Command::new(BIN)
        .args(["serve", "--check-config", "/nonexistent/reauth.toml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[tokio::test]
async fn sighup_reloads_atomically_and_a_bad_file_keeps_the_old_policy() {
    let issuer = TestIssuer::start().await;
    let file = policy_file(POLICY);
    let metrics_port = free_port();
    let metrics_bind = format!("127.0.0.1:{metrics_port}");
    let gate = serve(
        &issuer,
        &["--config", file.as_str(), "--metrics-bind", &metrics_bind],
    )
    .await;
    let pid = gate.child.id().unwrap().to_string();
    let hup = || {
        assert!(
            std::process::Command::new("kill")
                .args(["-HUP", &pid])
                .status()
                .unwrap()
                .success()
        );
    };
    let status = |uri: &'static str| {
        let gate = &gate;
        async move { through(gate, "GET", uri, None).await.status }
    };
    assert_eq!(status("/static/x").await, 200);

    // A valid new file: /static is no longer public.
    std::fs::write(
        &file.0,
        "[[route]]\nname = 'open'\npath = '/open/**'\npublic = true\n",
    )
    .unwrap();
    hup();
    wait_for(|| async { status("/static/x").await == 403 }).await;
    assert_eq!(status("/open/x").await, 200);

    // A broken file: the policy in force stays, the error is logged and counted.
    std::fs::write(&file.0, "[[route]]\nname = 'open'\npath = 'open'\n").unwrap();
    hup();
    wait_for(|| async { gate.logged("keeping the policy in force") }).await;
    assert_eq!(status("/open/x").await, 200);
    let m = scrape(metrics_port).await;
    assert!(
        m.contains("reauth_config_reloads_total{result=\"ok\"} 1"),
        "{m}"
    );
    assert!(
        m.contains("reauth_config_reloads_total{result=\"error\"} 1"),
        "{m}"
    );
}

async fn wait_for<F, Fut>(cond: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    wait_for_secs(5, cond).await;
}

async fn scrape(port: u16) -> String {
    let res = reqwest::get(format!("http://127.0.0.1:{port}/metrics"))
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    res.text().await.unwrap()
}

#[tokio::test]
async fn metrics_have_bounded_labels_and_never_a_path_subject_or_token() {
    let issuer = TestIssuer::start().await;
    let file = policy_file(POLICY);
    let port = free_port();
    let gate = serve(
        &issuer,
        &[
            "--config",
            file.as_str(),
            "--metrics-bind",
            &format!("127.0.0.1:{port}"),
        ],
    )
    .await;
    let token = issuer
        .token()
        .auth_time_ago(10)
        .claim("sub", "subject-alice-42")
        .sign();
    for _ in 0..3 {
        let r = through(&gate, "POST", "/account/delete?secret-query", Some(&token)).await;
        assert_eq!(r.status, 200);
    }
    through(&gate, "GET", "/nowhere/unique-path-1", Some(&token)).await;
    through(&gate, "GET", "/static/x", None).await;
    let m = scrape(port).await;
    for line in [
        "reauth_decisions_total{route=\"delete-account\",code=\"ok\"} 3",
        "reauth_decisions_total{route=\"_none\",code=\"no_route\"} 1",
        "reauth_decisions_total{route=\"static\",code=\"public\"} 1",
        "reauth_decision_duration_seconds_count 5",
        "reauth_jwks_fetches_total 1",
        "reauth_jwks_fetch_failures_total 0",
        "reauth_memo_hits_total 2",
        "reauth_memo_misses_total 1",
    ] {
        assert!(m.contains(line), "missing {line:?} in\n{m}");
    }
    assert!(m.contains("reauth_jwks_age_seconds "), "{m}");
    for secret in [
        "subject-alice-42",
        "unique-path-1",
        "secret-query",
        &token[..20],
    ] {
        assert!(!m.contains(secret), "{secret} leaked into metrics");
    }
    // Not served on the gate's own listener.
    assert_eq!(get(&gate, "/metrics", None).await.status, 404);
}

#[tokio::test]
async fn decisions_are_logged_as_json_without_the_token() {
    let issuer = TestIssuer::start().await;
    let file = policy_file(POLICY);
    let gate = serve_env(
        &issuer,
        &["--config", file.as_str(), "--log-format", "json"],
        &[("RUST_LOG", "info,reauth::decision=debug")],
    )
    .await;
    let token = issuer.token().auth_time_ago(600).sign();
    assert_eq!(
        through(&gate, "POST", "/account/delete", Some(&token))
            .await
            .status,
        401
    );
    wait_for(|| async { gate.logged("\"route\":\"delete-account\"") }).await;
    let logs = gate.logs.lock().unwrap().clone();
    let line = logs
        .iter()
        .find(|l| l.contains("\"route\":\"delete-account\""))
        .unwrap();
    let v: serde_json::Value = serde_json::from_str(line).unwrap();
    assert_eq!(v["level"], "DEBUG");
    assert_eq!(v["fields"]["code"], "authentication_too_old");
    assert_eq!(v["fields"]["status"], 401);
    assert!(v["fields"]["latency_us"].as_u64().is_some());
    let token_body = token.split('.').nth(1).unwrap();
    assert!(
        logs.iter().all(|l| !l.contains(token_body)),
        "a token was logged"
    );
}

#[tokio::test]
async fn liveness_readiness_and_retry_after() {
    let issuer = TestIssuer::start().await;
    issuer.set_jwks_behavior(Behavior::Status(500));
    let gate = serve(&issuer, &["--jwks-cooldown", "1s"]).await;
    assert_eq!(get(&gate, "/livez", None).await.status, 200);
    for path in ["/readyz", "/healthz"] {
        let r = get(&gate, path, None).await;
        assert_eq!(
            (r.status, r.header("retry-after")),
            (503, Some("5")),
            "{path}"
        );
    }
    let r = get(&gate, "/verify", Some(&issuer.token().sign())).await;
    assert_eq!((r.status, r.header("retry-after")), (503, Some("5")));
    issuer.set_jwks_behavior(Behavior::Normal);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(get(&gate, "/readyz", None).await.status, 200);
}

#[tokio::test]
async fn readiness_follows_the_revocation_state() {
    let Some(mut redis) = Redis::start() else {
        return;
    };
    let issuer = TestIssuer::start().await;
    let gate = serve(&issuer, &["--redis", &redis.url()]).await;
    wait_for(|| async { get(&gate, "/readyz", None).await.status == 200 }).await;
    redis.kill();
    // Beyond the store's staleness bound (5 s): not ready, alive.
    wait_for_secs(15, || async {
        get(&gate, "/readyz", None).await.status == 503
    })
    .await;
    let r = get(&gate, "/readyz", None).await;
    assert!(r.body.contains("revocation_unavailable"), "{}", r.body);
    assert_eq!(r.header("retry-after"), Some("5"));
    assert_eq!(get(&gate, "/livez", None).await.status, 200);
    redis.restart();
    wait_for_secs(15, || async {
        get(&gate, "/readyz", None).await.status == 200
    })
    .await;
}

async fn wait_for_secs<F, Fut>(secs: u64, mut cond: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = std::time::Instant::now() + Duration::from_secs(secs);
    while std::time::Instant::now() < deadline {
        if cond().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("condition not met within {secs} s");
}

/// `reauth serve --check-config FILE [more]`: (exit code, stderr).
fn check_config(file: &str, more: &[&str]) -> (Option<i32>, String) {
    let out = std::process::Command::new(BIN)
        .args(["serve", "--check-config", file])
        .args(more)
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `reauth serve --config FILE [more]` against an issuer that is never
/// reached: the file is judged before discovery. (exit code, stderr).
async fn start_with(file: &str, more: &[&str]) -> (Option<i32>, String) {
    let out = tokio::process::Command::new(BIN)
        .args([
            "serve",
            "--issuer",
            "https://issuer.example",
            "--audience",
            "a",
        ])
        .args(["--config", file])
        .args(more)
        .env_remove("RUST_LOG")
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(Duration::from_secs(30), out)
        .await
        .expect("exits")
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Issue 23's new-user trap: `/admin/*` then a public `/**` passed
/// `--check-config` while `/admin` and `/admin/users/42/delete` needed no
/// token. Now both `--check-config` and the start refuse it.
#[tokio::test]
async fn the_one_segment_trap_fails_check_config_and_the_start() {
    let trap = policy_file(
        "[[route]]\nname = 'admin'\npath = '/admin/*'\nmax_age = '5m'\n\n\
         [[route]]\nname = 'all'\npath = '/**'\npublic = true\n",
    );
    let (code, err) = check_config(trap.as_str(), &[]);
    assert_eq!(code, Some(2), "{err}");
    for needle in [
        &format!("{}:1:1: route \"admin\"", trap.as_str()),
        "route \"all\"",
        "/admin/x/y",
        "did you mean path = \"/admin/**\"",
        "1 error(s)",
    ] {
        assert!(err.contains(needle), "{needle:?} not in {err}");
    }
    let (code, err) = start_with(trap.as_str(), &[]).await;
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("did you mean path = \"/admin/**\""), "{err}");
    // What was meant passes.
    let meant = policy_file(
        "[[route]]\nname = 'admin'\npath = '/admin/**'\nmax_age = '5m'\n\n\
         [[route]]\nname = 'all'\npath = '/**'\npublic = true\n",
    );
    let (code, err) = check_config(meant.as_str(), &[]);
    assert_eq!(code, Some(0), "{err}");
}

/// Issue 23 item 10: `scopes` in the file of a gate that verifies ID
/// tokens (where `--required-scope` is refused) is refused at
/// `--check-config` and at the start, naming the route and the fix.
#[tokio::test]
async fn scopes_in_the_file_need_token_kind_access() {
    let file = policy_file("[[route]]\nname = 'pay'\npath = '/pay/**'\nscopes = ['pay']\n");
    let (code, err) = check_config(file.as_str(), &[]);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains(&format!("{}:4:1: scopes on route \"pay\"", file.as_str())),
        "{err}"
    );
    assert!(err.contains("--token-kind access"), "{err}");
    let (code, err) = start_with(file.as_str(), &[]).await;
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("scopes on route \"pay\""), "{err}");
    let (code, err) = check_config(file.as_str(), &["--token-kind", "access"]);
    assert_eq!(code, Some(0), "{err}");
}

/// Issue 23 items 8 and 9 through the gate: a `_method` query parameter
/// is refused like the header forms where routes are chosen by method,
/// and an encoded `?` or `#` in the path is refused like a raw `#`.
#[tokio::test]
async fn method_override_parameters_and_encoded_delimiters_are_refused() {
    let issuer = TestIssuer::start().await;
    let file = policy_file(POLICY);
    let gate = serve(&issuer, &["--config", file.as_str()]).await;
    let fresh = issuer.token().auth_time_ago(60).sign();
    // The header form, and the query forms: the same answer.
    let r = send(
        &gate,
        "/verify",
        None,
        &[
            ("X-Original-Method", "GET"),
            ("X-Original-URI", "/static/app.js"),
            ("X-HTTP-Method-Override", "DELETE"),
        ],
    )
    .await;
    assert_eq!((r.status, r.code().as_str()), (403, "ambiguous_request"));
    for uri in [
        "/static/app.js?_method=DELETE",
        "/static/app.js?%5Fmethod=DELETE",
        "/static/app.js?v=1&_METHOD=DELETE",
    ] {
        let r = through(&gate, "GET", uri, Some(&fresh)).await;
        assert_eq!(
            (r.status, r.code().as_str(), r.header("x-reauth-error")),
            (403, "ambiguous_request", Some("ambiguous_request")),
            "{uri}"
        );
        assert!(r.body.contains("_method"), "{}", r.body);
    }
    assert_eq!(
        through(&gate, "GET", "/static/app.js?v=1", None)
            .await
            .status,
        200
    );
    // Envoy: the query under /verify/ is the original request's.
    let res = reqwest::Client::new()
        .get(format!("{}/verify/static/app.js?_method=DELETE", gate.base))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    // `/static%3F/../account/delete`: a server that ends the path at the
    // decoded `?` and one that does not disagree; both forms are refused.
    for uri in [
        "/static%3F/x",
        "/static%23/x",
        "/static%253F/x",
        "/profile%3F/../static/x",
    ] {
        let r = through(&gate, "GET", uri, None).await;
        assert_eq!(
            (r.status, r.code().as_str()),
            (403, "ambiguous_request"),
            "{uri}"
        );
        assert!(r.body.contains("encoded ? or #"), "{}", r.body);
    }
}
