//! `reauth serve --ssf-*` and `reauth signals stream ...` as processes,
//! against a real test transmitter, a real test issuer and a real
//! redis-server shared by two gates: a security event pushed to (or
//! polled by) one gate is enforced by both, each polled SET is
//! acknowledged once, and refused SETs change nothing.
#![cfg(all(feature = "cli", feature = "signals"))]

mod support;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use reauth::testing::{TestIssuer, TestKey, TestTransmitter};
use serde_json::{Value, json};
use support::{BIN, Gate, get, readme_block, serve};

const AUD: &str = "https://gate.example/ssf";
const PUSH_SECRET: &str = "push-secret-0123456789abcdef";

fn temp_file(name: &str, content: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "reauth-ssf-{}-{}",
        std::process::id(),
        support::free_port()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, content).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    path
}

/// `reauth ARGS`: exit code and stdout as JSON.
async fn reauth(args: &[&str]) -> (i32, Value) {
    let out = tokio::process::Command::new(BIN)
        .args(args)
        .env_remove("RUST_LOG")
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let json = serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}): {stdout}\nstderr: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code().unwrap_or(-1), json)
}

async fn gate(
    issuer: &TestIssuer,
    transmitter: &TestTransmitter,
    redis: &str,
    extra: &[&str],
) -> Gate {
    let push = temp_file("push-token", &format!("{PUSH_SECRET}\n"));
    let mut args = vec![
        "--redis",
        redis,
        "--ssf-transmitter",
        transmitter.issuer(),
        "--ssf-audience",
        AUD,
        "--ssf-push-token-file",
        push.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    serve(issuer, &args).await
}

/// Waits (up to `within`) until `token` gets `status` from every gate.
async fn until(gates: &[&Gate], token: &str, status: u16, within: Duration) -> Duration {
    let start = Instant::now();
    loop {
        let mut all = true;
        for g in gates {
            all &= get(g, "/verify", Some(token)).await.status == status;
        }
        if all {
            return start.elapsed();
        }
        assert!(
            start.elapsed() < within,
            "not {status} on every gate within {within:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_pushed_session_revocation_is_enforced_by_both_gates_within_a_second() {
    let Some(redis) = support::Redis::start() else {
        return;
    };
    let issuer = TestIssuer::start().await;
    let transmitter = TestTransmitter::start(AUD).await;
    let g1 = gate(&issuer, &transmitter, &redis.url(), &[]).await;
    let g2 = gate(&issuer, &transmitter, &redis.url(), &[]).await;
    // The operator creates the push stream with the CLI.
    let token_file = temp_file("mgmt", &transmitter.management_token());
    let push_file = temp_file("push", PUSH_SECRET);
    let endpoint = format!("{}/ssf/events", g1.base);
    let (code, stream) = reauth(&[
        "signals",
        "stream",
        "create",
        "--transmitter",
        transmitter.issuer(),
        "--token-file",
        token_file.to_str().unwrap(),
        "--delivery",
        "push",
        "--endpoint",
        &endpoint,
        "--push-token-file",
        push_file.to_str().unwrap(),
        "--events",
        "session-revoked,credential-change,token-claims-change",
    ])
    .await;
    assert_eq!(code, 0, "{stream}");
    assert_eq!(stream["delivery"]["endpoint_url"], json!(endpoint));
    assert_eq!(
        stream["delivery"]["authorization_header"],
        json!("<redacted>"),
        "the push secret is never printed"
    );
    assert_eq!(
        transmitter.streams()[0]["delivery"]["authorization_header"],
        json!(format!("Bearer {PUSH_SECRET}")),
        "but the transmitter has it"
    );
    let phone = issuer
        .token()
        .claim("sub", "alice")
        .claim("sid", "phone")
        .sign();
    let laptop = issuer
        .token()
        .claim("sub", "alice")
        .claim("sid", "laptop")
        .sign();
    for g in [&g1, &g2] {
        assert_eq!(get(g, "/verify", Some(&phone)).await.status, 200);
    }
    let set = transmitter
        .event("session-revoked")
        .user(issuer.issuer(), "alice")
        .session("phone")
        .sign();
    let answers = transmitter.deliver(&set).await;
    assert_eq!(answers.len(), 1);
    assert_eq!(answers[0].as_ref().unwrap().status, 202, "{:?}", answers[0]);
    until(&[&g1, &g2], &phone, 401, Duration::from_secs(1)).await;
    assert_eq!(get(&g2, "/verify", Some(&phone)).await.error(), "revoked");
    for g in [&g1, &g2] {
        assert_eq!(
            get(g, "/verify", Some(&laptop)).await.status,
            200,
            "the other session"
        );
    }
}

#[tokio::test]
async fn credential_and_claims_changes_cut_off_older_logins_of_that_user_only() {
    let Some(redis) = support::Redis::start() else {
        return;
    };
    let issuer = TestIssuer::start().await;
    let transmitter = TestTransmitter::start(AUD).await;
    let g1 = gate(&issuer, &transmitter, &redis.url(), &[]).await;
    let g2 = gate(&issuer, &transmitter, &redis.url(), &[]).await;
    let endpoint = format!("{}/ssf/events", g1.base);
    let auth = format!("Bearer {PUSH_SECRET}");
    let alice = issuer
        .token()
        .claim("sub", "alice")
        .auth_time_ago(120)
        .sign();
    let bob = issuer.token().claim("sub", "bob").auth_time_ago(120).sign();
    let carol = issuer
        .token()
        .claim("sub", "carol")
        .auth_time_ago(120)
        .sign();
    let now = chrono::Utc::now().timestamp();
    let credential = transmitter
        .event("credential-change")
        .user(issuer.issuer(), "alice")
        .event_timestamp(now - 60)
        .event_member("credential_type", json!("password"))
        .event_member("change_type", json!("update"))
        .sign();
    assert_eq!(
        transmitter
            .push_to(&endpoint, Some(&auth), &credential)
            .await
            .status,
        202
    );
    until(&[&g1, &g2], &alice, 401, Duration::from_secs(1)).await;
    let claims = transmitter
        .event("token-claims-change")
        .user(issuer.issuer(), "bob")
        .event_timestamp(now - 60)
        .event_member("claims", json!({"role": "reader"}))
        .sign();
    assert_eq!(
        transmitter
            .push_to(&endpoint, Some(&auth), &claims)
            .await
            .status,
        202
    );
    until(&[&g1, &g2], &bob, 401, Duration::from_secs(1)).await;
    for g in [&g1, &g2] {
        assert_eq!(
            get(g, "/verify", Some(&carol)).await.status,
            200,
            "another user"
        );
        let fresh = issuer.token().claim("sub", "alice").auth_time_ago(0).sign();
        assert_eq!(
            get(g, "/verify", Some(&fresh)).await.status,
            200,
            "a login after the change"
        );
    }
}

#[tokio::test]
async fn polled_events_are_applied_by_both_gates_and_each_acknowledged_once() {
    let Some(redis) = support::Redis::start() else {
        return;
    };
    let issuer = TestIssuer::start().await;
    let transmitter = TestTransmitter::start(AUD).await;
    transmitter.set_poll_wait(Duration::from_millis(300));
    let token_file = temp_file("mgmt", &transmitter.management_token());
    let (code, stream) = reauth(&[
        "signals",
        "stream",
        "create",
        "--transmitter",
        transmitter.issuer(),
        "--token-file",
        token_file.to_str().unwrap(),
        "--delivery",
        "poll",
        "--events",
        "credential-change",
        "sessions-revoked",
    ])
    .await;
    assert_eq!(code, 0, "{stream}");
    // `--events a b` (space-separated, as the issue writes it) asks for both.
    assert_eq!(
        stream["events_requested"].as_array().map(Vec::len),
        Some(2),
        "{stream}"
    );
    let poll = stream["delivery"]["endpoint_url"]
        .as_str()
        .unwrap()
        .to_owned();
    let poll_args = [
        "--ssf-poll",
        poll.as_str(),
        "--ssf-poll-token-file",
        token_file.to_str().unwrap(),
    ];
    let g1 = gate(&issuer, &transmitter, &redis.url(), &poll_args).await;
    let g2 = gate(&issuer, &transmitter, &redis.url(), &poll_args).await;
    let users = ["dave", "erin", "frank"];
    let tokens: Vec<String> = users
        .iter()
        .map(|u| issuer.token().claim("sub", *u).auth_time_ago(60).sign())
        .collect();
    let mut jtis = Vec::new();
    for u in users {
        let set = transmitter
            .event("credential-change")
            .user(issuer.issuer(), u)
            .sign();
        jtis.push(jti(&set));
        transmitter.enqueue(&set);
    }
    for t in &tokens {
        until(&[&g1, &g2], t, 401, Duration::from_secs(5)).await;
    }
    // Acknowledged in the next poll; wait for it, then a few more polls.
    let deadline = Instant::now() + Duration::from_secs(5);
    while transmitter.acks().len() < jtis.len() {
        assert!(Instant::now() < deadline, "acks: {:?}", transmitter.acks());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let polls = transmitter.polls();
    while transmitter.polls() < polls + 3 {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut acks = transmitter.acks();
    acks.sort();
    jtis.sort();
    assert_eq!(acks, jtis, "each SET acknowledged exactly once");
    assert!(
        transmitter.set_errs().is_empty(),
        "{:?}",
        transmitter.set_errs()
    );
    assert_eq!(transmitter.unacknowledged(), 0);
    // The same SET delivered again is a replay: reported in setErrs, not acknowledged again.
    let replayed = transmitter
        .event("credential-change")
        .user(issuer.issuer(), "gina")
        .sign();
    transmitter.enqueue(&replayed);
    let deadline = Instant::now() + Duration::from_secs(5);
    while transmitter.acks().len() < jtis.len() + 1 {
        assert!(Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    transmitter.enqueue(&replayed);
    let deadline = Instant::now() + Duration::from_secs(5);
    while transmitter.set_errs().is_empty() {
        assert!(Instant::now() < deadline, "the replay is reported");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        transmitter.set_errs(),
        vec![(jti(&replayed), "invalid_request".to_owned())]
    );
    assert_eq!(
        transmitter
            .acks()
            .iter()
            .filter(|a| **a == jti(&replayed))
            .count(),
        1
    );
}

fn jti(set: &str) -> String {
    use base64::Engine;
    let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(set.split('.').nth(1).unwrap())
        .unwrap();
    serde_json::from_slice::<Value>(&payload).unwrap()["jti"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn refused_pushes_change_nothing_and_get_their_rfc8935_error() {
    let Some(redis) = support::Redis::start() else {
        return;
    };
    let issuer = TestIssuer::start().await;
    let transmitter = TestTransmitter::start(AUD).await;
    // No JWKS refresh cooldown: an unknown kid is final at once.
    let g = gate(
        &issuer,
        &transmitter,
        &redis.url(),
        &["--jwks-cooldown", "0s"],
    )
    .await;
    let endpoint = format!("{}/ssf/events", g.base);
    let auth = format!("Bearer {PUSH_SECRET}");
    let alice = issuer
        .token()
        .claim("sub", "alice")
        .claim("sid", "phone")
        .auth_time_ago(60)
        .sign();
    let base = || {
        transmitter
            .event("session-revoked")
            .user(issuer.issuer(), "alice")
            .session("phone")
    };
    let applied = transmitter
        .event("credential-change")
        .user(issuer.issuer(), "zoe")
        .event_timestamp(chrono::Utc::now().timestamp() - 60)
        .sign();
    assert_eq!(
        transmitter
            .push_to(&endpoint, Some(&auth), &applied)
            .await
            .status,
        202
    );
    // zoe logs in again after the change: the replay below must not touch that.
    let zoe = issuer.token().claim("sub", "zoe").auth_time_ago(0).sign();
    let two_events = base().claim(
        "events",
        json!({
            "https://schemas.openid.net/secevent/caep/event-type/session-revoked": {},
            "https://schemas.openid.net/secevent/risc/event-type/account-disabled": {},
        }),
    );
    let cases = vec![
        ("replayed", applied.clone(), 400, "invalid_request"),
        (
            "unknown key",
            base().key(TestKey::ec("rogue")).sign(),
            400,
            "invalid_key",
        ),
        (
            "another audience",
            base().claim("aud", json!("https://other.example")).sign(),
            400,
            "invalid_audience",
        ),
        (
            "another issuer",
            base().claim("iss", json!("https://evil.example")).sign(),
            400,
            "invalid_issuer",
        ),
        (
            "typ missing",
            base().header("typ", Value::Null).sign(),
            400,
            "invalid_request",
        ),
        ("two events", two_events.sign(), 400, "invalid_request"),
        (
            "a sub claim",
            base().claim("sub", json!("alice")).sign(),
            400,
            "invalid_request",
        ),
        (
            "a subject of another issuer",
            transmitter
                .event("session-revoked")
                .user("https://other.example", "alice")
                .session("phone")
                .sign(),
            400,
            "invalid_request",
        ),
    ];
    for (what, set, status, err) in cases {
        let answer = transmitter.push_to(&endpoint, Some(&auth), &set).await;
        assert_eq!(
            (answer.status, answer.err()),
            (status, Some(err)),
            "{what}: {:?}",
            answer.body
        );
        assert!(
            answer.body["description"]
                .as_str()
                .is_some_and(|d| !d.is_empty()),
            "{what}"
        );
        assert_eq!(
            get(&g, "/verify", Some(&alice)).await.status,
            200,
            "{what} changed something"
        );
        assert_eq!(
            get(&g, "/verify", Some(&zoe)).await.status,
            200,
            "{what} changed something"
        );
    }
    let good = base().sign();
    let no_auth = transmitter.push_to(&endpoint, None, &good).await;
    assert_eq!(
        (no_auth.status, no_auth.err()),
        (401, Some("authentication_failed"))
    );
    let wrong = transmitter
        .push_to(&endpoint, Some("Bearer not-the-secret-at-all"), &good)
        .await;
    assert_eq!((wrong.status, wrong.err()), (403, Some("access_denied")));
    let json_type = reqwest::Client::new()
        .post(&endpoint)
        .header("authorization", &auth)
        .header("content-type", "application/json")
        .body(good.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(json_type.status(), 400);
    // A 10 MiB body is refused, not read: a 400, or the connection closed
    // under the sender before it could finish.
    let huge = reqwest::Client::new()
        .post(&endpoint)
        .header("authorization", &auth)
        .header("content-type", "application/secevent+jwt")
        .body(vec![b'a'; 10 * 1024 * 1024])
        .send()
        .await;
    if let Ok(r) = huge {
        assert_eq!(r.status(), 400);
    }
    assert_eq!(
        get(&g, "/verify", Some(&alice)).await.status,
        200,
        "nothing changed"
    );
    // The same SET, well authenticated, is applied.
    assert_eq!(
        transmitter
            .push_to(&endpoint, Some(&auth), &good)
            .await
            .status,
        202
    );
    assert_eq!(get(&g, "/verify", Some(&alice)).await.status, 401);
}

#[tokio::test]
async fn stream_management_and_verification_through_the_cli_and_metrics() {
    let issuer = TestIssuer::start().await;
    let transmitter = TestTransmitter::start(AUD).await;
    let metrics = format!("127.0.0.1:{}", support::free_port());
    let push = temp_file("push-token", PUSH_SECRET);
    let g = serve(
        &issuer,
        &[
            "--ssf-transmitter",
            transmitter.issuer(),
            "--ssf-audience",
            AUD,
            "--ssf-push-token-file",
            push.to_str().unwrap(),
            "--metrics-bind",
            &metrics,
        ],
    )
    .await;
    let token = temp_file("mgmt", &transmitter.management_token());
    let t = [
        "--transmitter",
        transmitter.issuer(),
        "--token-file",
        token.to_str().unwrap(),
    ];
    let endpoint = format!("{}/ssf/events", g.base);
    let mut create = vec![
        "signals",
        "stream",
        "create",
        "--delivery",
        "push",
        "--endpoint",
        &endpoint,
    ];
    create.extend_from_slice(&t);
    create.extend(["--push-token-file", push.to_str().unwrap()]);
    let (code, stream) = reauth(&create).await;
    assert_eq!(code, 0, "{stream}");
    let id = stream["stream_id"].as_str().unwrap().to_owned();
    let with_id = |cmd: &'static str| {
        let mut v = vec!["signals", "stream", cmd];
        v.extend_from_slice(&t);
        v
    };
    let mut get_cmd = with_id("get");
    get_cmd.extend(["--stream-id", &id]);
    let (code, got) = reauth(&get_cmd).await;
    assert_eq!((code, got["stream_id"].as_str()), (0, Some(id.as_str())));
    let mut status = with_id("status");
    status.extend(["--stream-id", &id]);
    let (code, st) = reauth(&status).await;
    assert_eq!((code, st["status"].as_str()), (0, Some("enabled")));
    let mut verify = with_id("verify");
    verify.extend(["--stream-id", &id, "--state", "check-42"]);
    let (code, out) = reauth(&verify).await;
    assert_eq!(code, 0, "{out}");
    // The verification event arrives at the gate (pushed): logged and counted.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let text = reqwest::get(format!("http://{metrics}/metrics"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        if text.contains(r#"reauth_ssf_sets_total{event="verification",outcome="recorded"} 1"#) {
            assert!(text.contains("reauth_ssf_last_event_age_seconds"), "{text}");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no verification event counted:\n{text}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(g.logged("check-42"), "the verification state is logged");
    let mut delete = with_id("delete");
    delete.extend(["--stream-id", &id]);
    let (code, _) = reauth(&delete).await;
    assert_eq!(code, 0);
    let (code, out) = reauth(&get_cmd).await;
    assert_eq!((code, out["status"].as_u64()), (1, Some(404)), "{out}");
    // A wrong management token: the transmitter refuses, exit 1.
    let bad = temp_file("bad", "wrong-token");
    let (code, out) = reauth(&[
        "signals",
        "stream",
        "get",
        "--transmitter",
        transmitter.issuer(),
        "--token-file",
        bad.to_str().unwrap(),
    ])
    .await;
    assert_eq!((code, out["status"].as_u64()), (1, Some(401)), "{out}");
    // /readyz does not depend on the transmitter.
    drop(transmitter);
    assert_eq!(get(&g, "/readyz", None).await.status, 200);
}

#[tokio::test]
async fn ssf_misconfigurations_stop_the_gate_at_start() {
    let issuer = TestIssuer::start().await;
    let transmitter = TestTransmitter::start(AUD).await;
    let short = temp_file("short", "too-short");
    for (args, needle) in [
        (
            vec![
                "--ssf-transmitter",
                transmitter.issuer(),
                "--ssf-audience",
                AUD,
            ],
            "needs a delivery",
        ),
        (
            vec![
                "--ssf-transmitter",
                transmitter.issuer(),
                "--ssf-audience",
                AUD,
                "--ssf-push-token-file",
                short.to_str().unwrap(),
            ],
            "push_token",
        ),
        (
            vec![
                "--ssf-transmitter",
                "http://127.0.0.1:1",
                "--ssf-audience",
                AUD,
                "--ssf-push-token-file",
                temp_file("ok", PUSH_SECRET).to_str().unwrap(),
            ],
            "--ssf-transmitter",
        ),
    ] {
        let out = tokio::process::Command::new(BIN)
            .args([
                "serve",
                "--bind",
                "127.0.0.1:0",
                "--issuer",
                issuer.issuer(),
                "--audience",
                "test-client",
            ])
            .args(&args)
            .env("NO_COLOR", "1")
            .output()
            .await
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(needle), "{args:?}: {stderr}");
    }
    let out = tokio::process::Command::new(BIN)
        .args([
            "serve",
            "--issuer",
            issuer.issuer(),
            "--audience",
            "x",
            "--ssf-audience",
            AUD,
        ])
        .output()
        .await
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(2),
        "--ssf-audience alone is a usage error"
    );
}

/// The block's commands: comments dropped, continued lines joined.
fn commands(block: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    for line in block
        .lines()
        .map(str::trim)
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        match line.strip_suffix('\\') {
            Some(part) => current.push_str(part),
            None => {
                current.push_str(line);
                out.push(std::mem::take(&mut current));
            }
        }
    }
    out
}

/// The README's placeholders, made this test's.
struct Local {
    dir: PathBuf,
    pairs: Vec<(String, String)>,
}

impl Local {
    fn apply(&self, cmd: &str) -> String {
        let mut out = cmd.replace("/etc/reauth", self.dir.to_str().unwrap());
        for (from, to) in &self.pairs {
            out = out.replace(from.as_str(), to);
        }
        let rest = out.replace("--ssf-audience https://gate.example.com/ssf", "");
        assert!(
            !rest.contains("example.com"),
            "a placeholder is left: {out}"
        );
        out
    }
}

async fn run_line(line: &str) -> (i32, Value) {
    let args: Vec<&str> = line.split_whitespace().skip(1).collect();
    reauth(&args).await
}

#[tokio::test]
async fn the_readme_push_example_works() {
    let Some(redis) = support::Redis::start() else {
        return;
    };
    let issuer = TestIssuer::start().await;
    let transmitter = TestTransmitter::start("https://gate.example.com/ssf").await;
    let dir = temp_file("ssf-management-token", &transmitter.management_token())
        .parent()
        .unwrap()
        .to_owned();
    let mut local = Local {
        dir,
        pairs: vec![
            ("https://id.example.com".into(), issuer.issuer().into()),
            (
                "https://ssf.example.com".into(),
                transmitter.issuer().into(),
            ),
            ("redis://127.0.0.1:6379/".into(), redis.url()),
            ("--audience my-app".into(), "--audience test-client".into()),
        ],
    };
    let mut gate = None;
    for cmd in commands(&readme_block("sh ssf-push")) {
        let line = local.apply(&cmd);
        if line.starts_with("reauth serve") {
            let line = line.trim_end_matches('&').trim();
            let args: Vec<&str> = line.split_whitespace().skip(2).collect();
            let g = support::serve_args(&args, &[("RUST_LOG", "info")]).await;
            local.pairs.insert(
                0,
                (
                    "https://gate.example.com/ssf/events".into(),
                    format!("{}/ssf/events", g.base),
                ),
            );
            gate = Some(g);
        } else if line.starts_with("reauth ") {
            let (code, out) = run_line(&line).await;
            assert_eq!(code, 0, "{line}: {out}");
            if let Some(id) = out["stream_id"].as_str() {
                local.pairs.push(("STREAM_ID".into(), id.to_owned()));
            }
        } else {
            let ok = std::process::Command::new("sh")
                .args(["-c", &line])
                .status()
                .unwrap();
            assert!(ok.success(), "{line}");
        }
    }
    let gate = gate.expect("the block starts a gate");
    let deadline = Instant::now() + Duration::from_secs(5);
    while !gate.logged("hello") {
        assert!(
            Instant::now() < deadline,
            "the verification event's state is logged"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let token = issuer.token().auth_time_ago(30).sign();
    assert_eq!(get(&gate, "/verify", Some(&token)).await.status, 200);
    let set = transmitter
        .event("account-disabled")
        .user(issuer.issuer(), "user-1")
        .sign();
    assert_eq!(
        transmitter.deliver(&set).await[0].as_ref().unwrap().status,
        202
    );
    until(&[&gate], &token, 401, Duration::from_secs(1)).await;
}

#[tokio::test]
async fn the_readme_poll_example_works() {
    let Some(redis) = support::Redis::start() else {
        return;
    };
    let issuer = TestIssuer::start().await;
    let transmitter = TestTransmitter::start("https://gate.example.com/ssf").await;
    transmitter.set_poll_wait(Duration::from_millis(300));
    let dir = temp_file("ssf-management-token", &transmitter.management_token())
        .parent()
        .unwrap()
        .to_owned();
    let mut local = Local {
        dir,
        pairs: vec![
            ("https://id.example.com".into(), issuer.issuer().into()),
            (
                "https://ssf.example.com".into(),
                transmitter.issuer().into(),
            ),
            ("redis://127.0.0.1:6379/".into(), redis.url()),
            ("--audience my-app".into(), "--audience test-client".into()),
        ],
    };
    let mut gate = None;
    for cmd in commands(&readme_block("sh ssf-poll")) {
        let line = local.apply(&cmd);
        if line.starts_with("reauth serve") {
            let args: Vec<&str> = line.split_whitespace().skip(2).collect();
            gate = Some(support::serve_args(&args, &[("RUST_LOG", "info")]).await);
        } else {
            let (code, out) = run_line(&line).await;
            assert_eq!(code, 0, "{line}: {out}");
            let url = out["delivery"]["endpoint_url"].as_str().unwrap().to_owned();
            local.pairs.push(("POLL_ENDPOINT_URL".into(), url));
        }
    }
    let gate = gate.expect("the block starts a gate");
    let token = issuer.token().auth_time_ago(30).sign();
    assert_eq!(get(&gate, "/verify", Some(&token)).await.status, 200);
    let set = transmitter
        .event("sessions-revoked")
        .user(issuer.issuer(), "user-1")
        .sign();
    transmitter.enqueue(&set);
    until(&[&gate], &token, 401, Duration::from_secs(5)).await;
}

#[tokio::test]
async fn email_subjects_are_acted_on_through_the_map_file_only() {
    let issuer = TestIssuer::start().await;
    let transmitter = TestTransmitter::start(AUD).await;
    let push = temp_file("push-token", PUSH_SECRET);
    let map = temp_file("emails.json", r#"{"alice@example.com": "alice"}"#);
    let g = serve(
        &issuer,
        &[
            "--ssf-transmitter",
            transmitter.issuer(),
            "--ssf-audience",
            AUD,
            "--ssf-push-token-file",
            push.to_str().unwrap(),
            "--ssf-email-map",
            map.to_str().unwrap(),
        ],
    )
    .await;
    let endpoint = format!("{}/ssf/events", g.base);
    let auth = format!("Bearer {PUSH_SECRET}");
    let alice = issuer
        .token()
        .claim("sub", "alice")
        .auth_time_ago(60)
        .sign();
    let unmapped = transmitter
        .event("account-disabled")
        .email_user("bob@example.com")
        .sign();
    let answer = transmitter.push_to(&endpoint, Some(&auth), &unmapped).await;
    assert_eq!(
        (answer.status, answer.err()),
        (400, Some("invalid_request"))
    );
    let mapped = transmitter
        .event("account-disabled")
        .email_user("alice@example.com")
        .sign();
    assert_eq!(
        transmitter
            .push_to(&endpoint, Some(&auth), &mapped)
            .await
            .status,
        202
    );
    assert_eq!(get(&g, "/verify", Some(&alice)).await.error(), "revoked");
    // A map whose sub breaks the id rule stops the gate at start.
    let bad = temp_file("bad.json", "{\"eve@example.com\": \"a\\nb\"}");
    let out = tokio::process::Command::new(BIN)
        .args([
            "serve",
            "--bind",
            "127.0.0.1:0",
            "--issuer",
            issuer.issuer(),
            "--audience",
            "test-client",
        ])
        .args([
            "--ssf-transmitter",
            transmitter.issuer(),
            "--ssf-audience",
            AUD,
        ])
        .args([
            "--ssf-push-token-file",
            push.to_str().unwrap(),
            "--ssf-email-map",
            bad.to_str().unwrap(),
        ])
        .env("NO_COLOR", "1")
        .output()
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--ssf-email-map"));
}
