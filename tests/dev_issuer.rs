//! `reauth dev-issuer` (issue 25 item 5): the real binary, its tokens
//! verified by `reauth verify`, `reauth serve` and the library, its code
//! flow, its marks, its refusals; the `/dev/` bodies' parsers under
//! property tests; the README block run as pasted.
#![cfg(feature = "cli")]

use std::process::Stdio;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use proptest::prelude::*;
use reauth::testing::{
    DEV_MARKER_CLAIM, DEV_MARKER_HEADER, DevLogin, DevTokenRequest, FOR_TESTING_ONLY,
    MAX_DEV_AUTH_TIME_AGO, MAX_DEV_EXPIRES_IN, MAX_DEV_LIST_LEN, MAX_DEV_STRING_BYTES,
};
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

const BIN: &str = env!("CARGO_BIN_EXE_reauth");

/// A running `reauth dev-issuer`, killed when dropped.
struct DevIssuer {
    child: Child,
    issuer: String,
    /// The `tenant NAME URL` lines.
    tenants: Vec<(String, String)>,
}

async fn dev_issuer(extra: &[&str]) -> DevIssuer {
    let mut args = vec!["--bind", "127.0.0.1:0"];
    args.extend_from_slice(extra);
    dev_issuer_at(&args).await
}

/// `reauth dev-issuer ARGS...` (no default `--bind`).
async fn dev_issuer_at(extra: &[&str]) -> DevIssuer {
    let mut child = Command::new(BIN)
        .arg("dev-issuer")
        .args(extra)
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
        .await
        .expect("dev-issuer starts")
        .unwrap()
        .expect("a line on stdout");
    let issuer = first
        .strip_prefix("issuer ")
        .unwrap_or_else(|| panic!("the first line names the issuer: {first:?}"))
        .to_owned();
    let tenant_count = extra.iter().filter(|a| **a == "--tenant").count();
    let mut tenants = Vec::new();
    for _ in 0..tenant_count {
        let line = lines.next_line().await.unwrap().unwrap();
        let mut words = line.split(' ');
        assert_eq!(words.next(), Some("tenant"), "{line}");
        let name = words.next().unwrap().to_owned();
        tenants.push((name, words.next().unwrap().to_owned()));
    }
    DevIssuer {
        child,
        issuer,
        tenants,
    }
}

struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Out {
    fn json(&self) -> Value {
        serde_json::from_str(self.stdout.trim()).unwrap_or_else(|_| panic!("{}", self.stdout))
    }
}

async fn run(args: &[&str]) -> Out {
    let out = tokio::time::timeout(
        Duration::from_secs(60),
        Command::new(BIN).args(args).env("NO_COLOR", "1").output(),
    )
    .await
    .expect("reauth finishes")
    .unwrap();
    Out {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// `reauth dev-issuer token --issuer URL ARGS...`: the token.
async fn token(issuer: &str, args: &[&str]) -> String {
    let mut all = vec!["dev-issuer", "token", "--issuer", issuer];
    all.extend_from_slice(args);
    let out = run(&all).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let token = out.stdout.trim_end_matches('\n');
    assert!(
        !token.contains(char::is_whitespace),
        "only the token: {token:?}"
    );
    token.to_owned()
}

fn claims(token: &str) -> Value {
    let payload = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

#[tokio::test]
async fn serves_discovery_and_says_everywhere_it_is_for_testing() {
    let dev = dev_issuer(&[]).await;
    assert!(
        dev.issuer.starts_with("http://127.0.0.1:"),
        "{}",
        dev.issuer
    );
    let http = reqwest::Client::new();
    let discovery = http
        .get(format!("{}/.well-known/openid-configuration", dev.issuer))
        .send()
        .await
        .unwrap();
    assert_eq!(
        discovery.headers()[DEV_MARKER_HEADER],
        FOR_TESTING_ONLY,
        "every answer carries the header"
    );
    let doc: Value = serde_json::from_str(&discovery.text().await.unwrap()).unwrap();
    assert_eq!(doc["issuer"], dev.issuer);
    assert_eq!(doc[DEV_MARKER_CLAIM], FOR_TESTING_ONLY);
    assert_eq!(doc["jwks_uri"], format!("{}/jwks", dev.issuer));
    let jwks: Value = http
        .get(format!("{}/jwks", dev.issuer))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .map(|t| serde_json::from_str(&t).unwrap())
        .unwrap();
    assert_eq!(jwks[DEV_MARKER_CLAIM], FOR_TESTING_ONLY);
    assert!(!jwks["keys"].as_array().unwrap().is_empty());
    let home = http.get(&dev.issuer).send().await.unwrap();
    assert_eq!(home.status(), 200);
    assert!(
        home.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let page = home.text().await.unwrap();
    assert!(page.contains("For testing only"), "{page}");
    let missing = http
        .get(format!("{}/nothing-here", dev.issuer))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    assert_eq!(missing.headers()[DEV_MARKER_HEADER], FOR_TESTING_ONLY);
    // Its keys are new on each start (new key ids), so a gate that cached
    // the keys of an earlier run fetches the new ones.
    let other = dev_issuer(&[]).await;
    let kids = |jwks: &Value| -> Vec<String> {
        jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["kid"].as_str().unwrap().to_owned())
            .collect()
    };
    let other_jwks: Value = http
        .get(format!("{}/jwks", other.issuer))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .map(|t| serde_json::from_str(&t).unwrap())
        .unwrap();
    assert!(
        kids(&jwks).iter().all(|k| !kids(&other_jwks).contains(k)),
        "{jwks} {other_jwks}"
    );
}

#[tokio::test]
async fn a_minted_hour_old_login_is_accepted_and_too_old_for_max_age_300() {
    let dev = dev_issuer(&[]).await;
    let t = token(&dev.issuer, &["--sub", "alice", "--auth-time-ago", "3600"]).await;
    let c = claims(&t);
    assert_eq!(c[DEV_MARKER_CLAIM], FOR_TESTING_ONLY, "{c}");
    assert_eq!(c["aud"], "test-client");
    let auth_time = c["auth_time"].as_i64().unwrap();
    assert!((now() - 3600 - auth_time).abs() <= 5, "{c}");

    let verify = |extra: &'static [&'static str]| {
        let issuer = dev.issuer.clone();
        let t = t.clone();
        async move {
            let mut args = vec!["verify", "--issuer", &issuer, "--audience", "test-client"];
            args.extend_from_slice(extra);
            args.push(&t);
            run(&args).await
        }
    };
    let ok = verify(&[]).await;
    assert_eq!(ok.code, 0, "{}", ok.stdout);
    assert_eq!(ok.json()["sub"], "alice");
    assert_eq!(ok.json()["claims"][DEV_MARKER_CLAIM], FOR_TESTING_ONLY);
    let stale = verify(&["--max-age", "300"]).await;
    assert_eq!(stale.code, 1, "{}", stale.stdout);
    assert_eq!(stale.json()["error"], "authentication_too_old");

    // The same through the gate.
    let mut gate = Command::new(BIN)
        .args([
            "serve",
            "--issuer",
            &dev.issuer,
            "--audience",
            "test-client",
        ])
        .args(["--max-age", "5m", "--bind", "127.0.0.1:0", "--workers", "1"])
        .env("NO_COLOR", "1")
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(gate.stderr.take().unwrap()).lines();
    let addr = tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            if let Some(rest) = line.split("addr=").nth(1) {
                return rest.split_whitespace().next().unwrap().to_owned();
            }
        }
        panic!("the gate exited before listening");
    })
    .await
    .expect("the gate starts");
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    let http = reqwest::Client::new();
    let at_gate = |t: String| {
        let req = http
            .get(format!("http://{addr}/verify"))
            .bearer_auth(t)
            .send();
        async move { req.await.unwrap() }
    };
    let old = at_gate(t.clone()).await;
    assert_eq!(old.status(), 401);
    assert_eq!(old.headers()["x-reauth-error"], "authentication_too_old");
    let fresh = token(&dev.issuer, &["--sub", "alice"]).await;
    let ok = at_gate(fresh).await;
    assert_eq!(ok.status(), 200);
    assert_eq!(ok.headers()["x-reauth-subject"], "alice");
}

#[tokio::test]
async fn token_flags_access_tokens_audiences_and_tenants() {
    let dev = dev_issuer(&["--client-id", "app-1,app-2", "--tenant", "acme"]).await;
    let t = token(
        &dev.issuer,
        &[
            "--sub",
            "bob",
            "--acr",
            "gold",
            "--amr",
            "pwd,mfa",
            "--expires-in",
            "10m",
        ],
    )
    .await;
    let c = claims(&t);
    assert_eq!(c["aud"], "app-1", "the first --client-id: {c}");
    assert_eq!(c["acr"], "gold");
    assert_eq!(c["amr"], serde_json::json!(["pwd", "mfa"]));
    assert_eq!(c["exp"].as_i64().unwrap() - c["iat"].as_i64().unwrap(), 600);
    let out = run(&[
        "verify",
        "--issuer",
        &dev.issuer,
        "--audience",
        "app-1",
        "--acr-values",
        "gold",
        "--require-amr",
        "mfa",
        &t,
    ])
    .await;
    assert_eq!(out.code, 0, "{}", out.stdout);

    let at = token(
        &dev.issuer,
        &[
            "--access-token",
            "--scope",
            "read write",
            "--aud",
            "https://api.example",
        ],
    )
    .await;
    let out = run(&[
        "verify",
        "--issuer",
        &dev.issuer,
        "--token-kind",
        "access",
        "--audience",
        "https://api.example",
        "--required-scope",
        "write",
        &at,
    ])
    .await;
    assert_eq!(out.code, 0, "{}", out.stdout);
    assert_eq!(out.json()["client_id"], "app-1");

    let (name, tenant_url) = &dev.tenants[0];
    assert_eq!(name, "acme");
    assert_eq!(tenant_url, &format!("{}/realms/acme", dev.issuer));
    let tt = token(&dev.issuer, &["--tenant", "acme", "--sub", "carol"]).await;
    assert_eq!(claims(&tt)["iss"], *tenant_url);
    let verify_at = |issuer: String, token: String| async move {
        run(&["verify", "--issuer", &issuer, "--audience", "app-1", &token]).await
    };
    assert_eq!(verify_at(tenant_url.clone(), tt.clone()).await.code, 0);
    // The tenant has its own keys: the root's token is not the tenant's.
    let wrong = verify_at(tenant_url.clone(), t.clone()).await;
    assert_eq!(wrong.code, 1, "{}", wrong.stdout);
}

#[tokio::test]
async fn authorize_logs_the_chosen_user_in_at_once_and_token_exchanges_the_code() {
    let dev = dev_issuer(&[
        "--sub",
        "carol",
        "--acr",
        "silver",
        "--amr",
        "pwd,otp",
        "--auth-time-ago",
        "120",
    ])
    .await;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let verifier_pkce = "a-code-verifier-of-at-least-43-characters-long-0123";
    let challenge = URL_SAFE_NO_PAD.encode(aws_lc_rs::digest::digest(
        &aws_lc_rs::digest::SHA256,
        verifier_pkce.as_bytes(),
    ));
    let redirect_uri = "http://127.0.0.1:1/callback";
    let authorize = |client: &str| {
        let mut url = url::Url::parse(&format!("{}/authorize", dev.issuer)).unwrap();
        url.query_pairs_mut()
            .append_pair("response_type", "code")
            .append_pair("client_id", client)
            .append_pair("redirect_uri", redirect_uri)
            .append_pair("scope", "openid")
            .append_pair("state", "st-1")
            .append_pair("nonce", "n-1")
            .append_pair("code_challenge", &challenge)
            .append_pair("code_challenge_method", "S256");
        http.get(url).send()
    };
    let unknown = authorize("someone-else").await.unwrap();
    assert_eq!(unknown.status(), 400, "only --client-id is accepted");
    assert!(unknown.headers().get("location").is_none());

    let exchange = |code: String| {
        http.post(format!("{}/token", dev.issuer))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(
                url::form_urlencoded::Serializer::new(String::new())
                    .append_pair("grant_type", "authorization_code")
                    .append_pair("code", &code)
                    .append_pair("redirect_uri", redirect_uri)
                    .append_pair("client_id", "test-client")
                    .append_pair("code_verifier", verifier_pkce)
                    .finish(),
            )
            .send()
    };
    let login = |res: reqwest::Response| {
        assert_eq!(res.status(), 302);
        let back = url::Url::parse(res.headers()["location"].to_str().unwrap()).unwrap();
        let get = |k: &str| {
            back.query_pairs()
                .find(|(n, _)| n == k)
                .map(|(_, v)| v.into_owned())
        };
        assert_eq!(get("state").as_deref(), Some("st-1"));
        assert_eq!(get("iss").as_deref(), Some(dev.issuer.as_str()));
        get("code").expect("a code")
    };
    let code = login(authorize("test-client").await.unwrap());
    let answer: Value =
        serde_json::from_str(&exchange(code.clone()).await.unwrap().text().await.unwrap()).unwrap();
    let id_token = answer["id_token"].as_str().expect("an ID token");
    let c = claims(id_token);
    assert_eq!(c["sub"], "carol");
    assert_eq!(c["acr"], "silver");
    assert_eq!(c["nonce"], "n-1");
    assert_eq!(c[DEV_MARKER_CLAIM], FOR_TESTING_ONLY);
    assert!((now() - 120 - c["auth_time"].as_i64().unwrap()).abs() <= 5);
    let verifier = reauth::Verifier::discover(
        reauth::VerifierConfig::builder(dev.issuer.clone())
            .audience("test-client")
            .build()
            .unwrap(),
    )
    .await
    .unwrap();
    verifier
        .verify(id_token, &reauth::Requirement::none())
        .await
        .unwrap();
    let replay = exchange(code).await.unwrap();
    assert_eq!(replay.status(), 400, "a code is exchanged once");

    // `reauth dev-issuer login` changes who logs in from now on.
    let out = run(&[
        "dev-issuer",
        "login",
        "--issuer",
        &dev.issuer,
        "--sub",
        "dave",
        "--auth-time-ago",
        "10m",
    ])
    .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.json()["sub"], "dave");
    assert_eq!(out.json()["auth_time_ago"], 600);
    let code = login(authorize("test-client").await.unwrap());
    let answer: Value =
        serde_json::from_str(&exchange(code).await.unwrap().text().await.unwrap()).unwrap();
    let c = claims(answer["id_token"].as_str().unwrap());
    assert_eq!(c["sub"], "dave");
    assert_eq!(c["acr"], "silver", "what `login` did not change stays");
    assert!((now() - 600 - c["auth_time"].as_i64().unwrap()).abs() <= 5);
    // And `token` follows the current login.
    assert_eq!(claims(&token(&dev.issuer, &[]).await)["sub"], "dave");
}

#[tokio::test]
async fn a_non_loopback_bind_is_refused_without_the_flag() {
    for bind in ["0.0.0.0:0", "[::]:0"] {
        let out = run(&["dev-issuer", "--bind", bind]).await;
        assert_eq!(out.code, 2, "{}", out.stderr);
        assert!(out.stdout.is_empty(), "{}", out.stdout);
        assert!(
            out.stderr.contains("--bind") && out.stderr.contains("--allow-non-loopback"),
            "{}",
            out.stderr
        );
    }
    let mut child = Command::new(BIN)
        .args(["dev-issuer", "--bind", "0.0.0.0:0", "--allow-non-loopback"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let line = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(line.starts_with("issuer http://0.0.0.0:"), "{line}");

    // Behind a port mapping: the identifier its clients use.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let bind = format!("0.0.0.0:{port}");
    let url = format!("http://127.0.0.1:{port}");
    let dev = dev_issuer_at(&[
        "--bind",
        &bind,
        "--allow-non-loopback",
        "--issuer-url",
        &url,
    ])
    .await;
    assert_eq!(dev.issuer, url);
    let t = token(&url, &["--sub", "frank"]).await;
    assert_eq!(claims(&t)["iss"], url);
    let out = run(&["verify", "--issuer", &url, "--audience", "test-client", &t]).await;
    assert_eq!(out.code, 0, "{}", out.stdout);
    let out = run(&["dev-issuer", "--issuer-url", "ftp://x/"]).await;
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("--issuer-url"), "{}", out.stderr);
}

#[tokio::test]
async fn refusals_are_exit_2_with_nothing_on_stdout() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let nobody = format!("http://127.0.0.1:{port}");
    let out = run(&["dev-issuer", "token", "--issuer", &nobody, "--wait", "0s"]).await;
    assert_eq!(out.code, 2);
    assert!(out.stdout.is_empty(), "{}", out.stdout);
    assert!(
        out.stderr.contains("no dev issuer answers"),
        "{}",
        out.stderr
    );

    let dev = dev_issuer(&[]).await;
    for (args, says) in [
        (&["--expires-in", "31d"][..], "expires_in"),
        (&["--tenant", "Not_A_Tenant"][..], "--tenant"),
        (&["--tenant", "unknown"][..], "404"),
    ] {
        let mut all = vec!["dev-issuer", "token", "--issuer", &dev.issuer];
        all.extend_from_slice(args);
        let out = run(&all).await;
        assert_eq!(out.code, 2, "{args:?}");
        assert!(out.stdout.is_empty(), "{args:?}: {}", out.stdout);
        assert!(out.stderr.contains(says), "{args:?}: {}", out.stderr);
    }
    // A usage error: still nothing on stdout (`TOKEN=$(...)` stays empty).
    let out = run(&["dev-issuer", "token", "--scope", "read"]).await;
    assert_eq!(out.code, 2);
    assert!(out.stdout.is_empty(), "{}", out.stdout);
    assert!(out.stderr.contains("--access-token"), "{}", out.stderr);
    let out = run(&["dev-issuer", "--tenant", "Bad!"]).await;
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("--tenant"), "{}", out.stderr);

    // The /dev/ endpoints: JSON only, no rebound host names, strict bodies.
    let http = reqwest::Client::new();
    let post = |body: &'static str, content_type: &'static str, host: Option<&'static str>| {
        let mut req = http
            .post(format!("{}/dev/token", dev.issuer))
            .header("content-type", content_type)
            .body(body);
        if let Some(h) = host {
            req = req.header("host", h);
        }
        async move { req.send().await.unwrap().status().as_u16() }
    };
    assert_eq!(post("{}", "application/json", None).await, 200);
    assert_eq!(
        post("sub=alice", "application/x-www-form-urlencoded", None).await,
        415
    );
    assert_eq!(post("{}", "text/plain", None).await, 415);
    assert_eq!(
        post("{}", "application/json", Some("evil.example")).await,
        403
    );
    assert_eq!(post(r#"{"sub":1}"#, "application/json", None).await, 400);
    assert_eq!(
        post(r#"{"sub":"a","sub":"b"}"#, "application/json", None).await,
        400
    );
    let huge = http
        .post(format!("{}/dev/token", dev.issuer))
        .header("content-type", "application/json")
        .body(vec![b' '; 17 * 1024])
        .send()
        .await
        .unwrap();
    assert_eq!(huge.status(), 413);
}

#[cfg(unix)]
#[tokio::test]
async fn sigterm_stops_it_with_exit_0() {
    let mut dev = dev_issuer(&[]).await;
    let pid = dev.child.id().unwrap();
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = tokio::time::timeout(Duration::from_secs(10), dev.child.wait())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(status.code(), Some(0));
}

#[tokio::test]
async fn help_documents_the_design() {
    let out = run(&["dev-issuer", "--help"]).await;
    assert_eq!(out.code, 0);
    for needle in [
        "FOR TESTING ONLY",
        "--bind",
        "[default: 127.0.0.1:9000]",
        "--allow-non-loopback",
        "--client-id",
        "--tenant",
        "POST /dev/token",
        "/dev/login",
        "Keys live in memory only",
    ] {
        assert!(out.stdout.contains(needle), "{needle}:\n{}", out.stdout);
    }
    let out = run(&["dev-issuer", "token", "--help"]).await;
    for needle in [
        "--sub",
        "--auth-time-ago",
        "--aud",
        "--acr",
        "--amr",
        "--expires-in",
        "--issuer",
        "--tenant",
        "--access-token",
    ] {
        assert!(out.stdout.contains(needle), "{needle}:\n{}", out.stdout);
    }
}

/// The README's block, pasted into `sh` as a user would (with the port
/// changed to a free one), with this build's `reauth` first on `PATH`.
#[tokio::test]
async fn the_readme_block_runs_as_pasted() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let block: String = readme
        .split("```sh dev-issuer\n")
        .nth(1)
        .expect("README has the dev-issuer block")
        .split("\n```")
        .next()
        .unwrap()
        .to_owned();
    assert!(block.contains("127.0.0.1:9000"), "{block}");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let script = block.replace("127.0.0.1:9000", &format!("127.0.0.1:{port}"));
    let dir = std::path::Path::new(BIN).parent().unwrap();
    let path = format!(
        "{}:{}",
        dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = tokio::time::timeout(
        Duration::from_secs(60),
        Command::new("sh")
            .args(["-c", &script])
            .env("PATH", path)
            .env("NO_COLOR", "1")
            .kill_on_drop(true)
            .output(),
    )
    .await
    .expect("the block finishes")
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(
        lines.contains(&format!("issuer http://127.0.0.1:{port}").as_str()),
        "{stdout}"
    );
    let verdicts: Vec<Value> = lines
        .iter()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(verdicts.len(), 2, "{stdout}");
    assert_eq!(verdicts[0]["ok"], true, "{stdout}");
    assert_eq!(verdicts[0]["sub"], "alice");
    assert_eq!(verdicts[1]["error"], "authentication_too_old", "{stdout}");
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", port)).is_err(),
        "the block stops the dev issuer it started"
    );
}

fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        ".{0,300}".prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..20).prop_map(Value::from),
            prop::collection::vec(
                (
                    prop_oneof![
                        Just("sub".to_owned()),
                        Just("auth_time_ago".to_owned()),
                        Just("acr".to_owned()),
                        Just("amr".to_owned()),
                        Just("aud".to_owned()),
                        Just("expires_in".to_owned()),
                        Just("access_token".to_owned()),
                        Just("scope".to_owned()),
                        "[a-z_]{1,12}",
                    ],
                    inner
                ),
                0..8
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn within_bounds(strings: &[&String]) -> bool {
    strings.iter().all(|s| {
        !s.is_empty() && s.len() <= MAX_DEV_STRING_BYTES && !s.chars().any(char::is_control)
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Any bytes: a typed answer, never a panic.
    #[test]
    fn dev_bodies_never_panic(body in prop::collection::vec(any::<u8>(), 0..2048)) {
        let _ = DevTokenRequest::from_json(&body);
        let _ = DevLogin::from_json(&body);
    }

    /// Any JSON: what is accepted is within every documented bound, and
    /// reads back the same after it is written.
    #[test]
    fn accepted_dev_bodies_are_within_bounds(doc in any_json()) {
        let body = serde_json::to_vec(&doc).unwrap();
        if let Ok(r) = DevTokenRequest::from_json(&body) {
            prop_assert!(doc.is_object());
            let mut strings: Vec<&String> = r.sub.iter().chain(&r.acr).chain(&r.scope).collect();
            strings.extend(r.amr.iter().flatten());
            strings.extend(r.aud.iter().flatten());
            prop_assert!(within_bounds(&strings));
            prop_assert!(r.amr.as_ref().is_none_or(|l| l.len() <= MAX_DEV_LIST_LEN));
            prop_assert!(r.aud.as_ref().is_none_or(|l| !l.is_empty() && l.len() <= MAX_DEV_LIST_LEN));
            prop_assert!(r.auth_time_ago.is_none_or(|t| (0..=MAX_DEV_AUTH_TIME_AGO).contains(&t)));
            prop_assert!(r.expires_in.is_none_or(|t| (1..=MAX_DEV_EXPIRES_IN).contains(&t)));
            prop_assert!(r.scope.is_none() || r.access_token);
            let again = DevTokenRequest::from_json(&serde_json::to_vec(&r).unwrap());
            prop_assert_eq!(again, Ok(r));
        }
        if let Ok(l) = DevLogin::from_json(&body) {
            let mut strings: Vec<&String> = l.sub.iter().chain(&l.acr).collect();
            strings.extend(l.amr.iter().flatten());
            prop_assert!(within_bounds(&strings));
            prop_assert!(l.auth_time_ago.is_none_or(|t| (0..=MAX_DEV_AUTH_TIME_AGO).contains(&t)));
            let again = DevLogin::from_json(&serde_json::to_vec(&l).unwrap());
            prop_assert_eq!(again, Ok(l));
        }
    }
}

/// The cookies a browser keeps: `Set-Cookie` in, `Cookie` out.
#[derive(Default)]
struct Jar(std::collections::BTreeMap<String, String>);

impl Jar {
    fn take(&mut self, res: &reqwest::Response) {
        for set in res.headers().get_all("set-cookie") {
            let set = set.to_str().unwrap();
            let pair = set.split(';').next().unwrap();
            let (name, value) = pair.split_once('=').unwrap();
            let expired = set.to_ascii_lowercase().contains("max-age=0");
            if expired || value.is_empty() {
                self.0.remove(name);
            } else {
                self.0.insert(name.to_owned(), value.to_owned());
            }
        }
    }

    fn header(&self) -> String {
        self.0
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }
}

/// A browser on the gate's origin (no proxy in between: the gate serves
/// `/reauth/` itself), following redirects by hand.
struct Browser {
    http: reqwest::Client,
    public: String,
    jar: Jar,
}

impl Browser {
    /// A top-level navigation to `url` for the page `/account`.
    async fn navigate(&mut self, url: &str) -> reqwest::Response {
        let res = self
            .http
            .get(url)
            .header("accept", "text/html")
            .header("x-forwarded-uri", "/account")
            .header("x-forwarded-method", "GET")
            .header("cookie", self.jar.header())
            .send()
            .await
            .unwrap();
        self.jar.take(&res);
        res
    }

    fn location(&self, res: &reqwest::Response) -> String {
        assert!(res.status().is_redirection(), "{}", res.status());
        let to = res.headers()["location"].to_str().unwrap();
        let base = url::Url::parse(&self.public).unwrap();
        base.join(to).unwrap().to_string()
    }

    /// The gate's refusal, `/reauth/start`, the dev issuer's `/authorize`,
    /// the gate's callback: the callback's answer.
    async fn step_up(&mut self, dev_issuer: &str) -> reqwest::Response {
        let public = self.public.clone();
        let refused = self.navigate(&format!("{public}/verify")).await;
        let start = self.location(&refused);
        assert!(
            start.starts_with(&format!("{public}/reauth/start")),
            "{start}"
        );
        let res = self.navigate(&start).await;
        let authorize = self.location(&res);
        assert!(
            authorize.starts_with(&format!("{dev_issuer}/authorize")),
            "{authorize}"
        );
        let res = self.navigate(&authorize).await;
        let callback = self.location(&res);
        assert!(
            callback.starts_with(&format!("{public}/reauth/callback")),
            "{callback}"
        );
        self.navigate(&callback).await
    }
}

/// What an operator tries first: the gate's browser step-up against the
/// dev issuer, no provider anywhere. A browser without a login is sent to
/// the dev issuer, logged in at once as the chosen user, and comes back
/// with a session the gate accepts; when the dev issuer is told to return
/// an hour-old login, the gate refuses it.
#[tokio::test]
async fn the_gate_steps_up_against_the_dev_issuer() {
    let dev = dev_issuer(&["--sub", "erin"]).await;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let public = format!("http://127.0.0.1:{port}");
    let key = std::env::temp_dir().join(format!("reauth-dev-issuer-key-{port}"));
    std::fs::write(&key, [7u8; 32]).unwrap();
    let mut gate = Command::new(BIN)
        .args([
            "serve",
            "--issuer",
            &dev.issuer,
            "--audience",
            "test-client",
        ])
        .args(["--max-age", "5m", "--workers", "1"])
        .args(["--bind", &format!("127.0.0.1:{port}")])
        .args(["--stepup-client-id", "test-client", "--public-url", &public])
        .arg("--cookie-key-file")
        .arg(&key)
        .env("NO_COLOR", "1")
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(gate.stderr.take().unwrap()).lines();
    tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            if line.contains("addr=") {
                return;
            }
        }
        panic!("the gate exited before listening");
    })
    .await
    .expect("the gate starts");
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });

    let mut browser = Browser {
        http: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
        public: public.clone(),
        jar: Jar::default(),
    };
    let back = browser.step_up(&dev.issuer).await;
    assert_eq!(
        browser.location(&back),
        format!("{public}/account"),
        "back where it asked"
    );
    let ok = browser.navigate(&format!("{public}/verify")).await;
    assert_eq!(ok.status(), 200, "the session the step-up made is accepted");
    assert_eq!(ok.headers()["x-reauth-subject"], "erin");

    // A provider that returns an old login instead of a new one: refused.
    let out = run(&[
        "dev-issuer",
        "login",
        "--issuer",
        &dev.issuer,
        "--auth-time-ago",
        "1h",
    ])
    .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    browser.jar = Jar::default();
    let back = browser.step_up(&dev.issuer).await;
    assert!(
        back.status().is_client_error(),
        "an hour-old login does not pass the callback: {}",
        back.status()
    );
    let _ = std::fs::remove_file(&key);
}
