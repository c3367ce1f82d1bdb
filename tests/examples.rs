//! `examples/actix.rs` and `examples/axum.rs`, run as a newcomer runs them
//! (pointed at the embedded test issuer): each route answers what its doc
//! comment says, and reauth's logs reach stderr.
#![cfg(all(unix, feature = "cli"))]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use reauth::testing::{TEST_CLIENT_ID, TestIssuer};

/// Kills the example when the test ends, passed or failed.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `cargo test` builds the examples beside the binaries it tests.
fn example_binary(name: &str) -> std::path::PathBuf {
    let bin = std::path::Path::new(env!("CARGO_BIN_EXE_reauth"));
    let path = bin.parent().unwrap().join("examples").join(name);
    assert!(
        path.exists(),
        "{} not built: run the tests with `cargo test` (which builds the examples), \
         or `cargo build --example {name}` first",
        path.display()
    );
    path
}

/// Starts the example against `issuer` on a free port; returns it, its base
/// URL and everything it writes to stderr.
fn start(name: &str, issuer: &TestIssuer) -> (Running, String, Arc<Mutex<String>>) {
    let mut child = Running(
        Command::new(example_binary(name))
            .env("REAUTH_ISSUER", issuer.issuer())
            .env("REAUTH_AUDIENCE", TEST_CLIENT_ID)
            .env("REAUTH_BIND", "127.0.0.1:0")
            .env("RUST_LOG", "reauth=debug")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let stderr = Arc::new(Mutex::new(String::new()));
    let sink = stderr.clone();
    let err = BufReader::new(child.0.stderr.take().unwrap());
    std::thread::spawn(move || {
        for line in err.lines().map_while(Result::ok) {
            let mut s = sink.lock().unwrap();
            s.push_str(&line);
            s.push('\n');
        }
    });
    // The address arrives through a thread, so a stalled example fails the
    // test instead of hanging it.
    let (tx, rx) = mpsc::channel();
    let out = BufReader::new(child.0.stdout.take().unwrap());
    std::thread::spawn(move || {
        for line in out.lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let line = rx
        .recv_timeout(Duration::from_secs(60))
        .unwrap_or_else(|e| {
            panic!(
                "examples/{name}.rs printed no address ({e}); stderr:\n{}",
                stderr.lock().unwrap()
            )
        });
    let base = line
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line: {line}"))
        .to_owned();
    (child, base, stderr)
}

async fn call(method: &str, url: &str, token: Option<&str>) -> (u16, String) {
    let client = reqwest::Client::new();
    let mut req = match method {
        "GET" => client.get(url),
        _ => client.post(url),
    };
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let res = req.send().await.unwrap();
    (res.status().as_u16(), res.text().await.unwrap())
}

/// What each example's routes promise: `/me` any valid ID token, the
/// password route and the dangerous route a login at most 300 s old.
async fn check_example(name: &str, dangerous: &str) {
    let issuer = TestIssuer::start().await;
    let (_child, base, stderr) = start(name, &issuer);
    let fresh = issuer.token().sign();
    let stale = issuer.token().auth_time_ago(3600).sign();

    // `/me`: "any valid ID token", an old login included; none is 401.
    for token in [&fresh, &stale] {
        let (status, body) = call("GET", &format!("{base}/me"), Some(token)).await;
        assert_eq!(
            (status, body.as_str()),
            (200, "hello user-1"),
            "examples/{name}.rs GET /me; stderr:\n{}",
            stderr.lock().unwrap()
        );
    }
    let (status, _) = call("GET", &format!("{base}/me"), None).await;
    assert_eq!(status, 401, "examples/{name}.rs GET /me without a token");

    for path in ["/password", dangerous] {
        let url = format!("{base}{path}");
        let (status, body) = call("POST", &url, Some(&fresh)).await;
        assert_eq!(status, 200, "examples/{name}.rs POST {path} fresh: {body}");
        let (status, body) = call("POST", &url, Some(&stale)).await;
        assert_eq!(status, 401, "examples/{name}.rs POST {path} stale: {body}");
    }

    // The logger is set up: the verifier's rejection of the stale token
    // (a debug line under RUST_LOG=reauth=debug) reaches stderr.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if stderr.lock().unwrap().contains("authentication_too_old") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "examples/{name}.rs logged nothing of the refusal; stderr:\n{}",
            stderr.lock().unwrap()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_actix_example_answers_as_documented_and_logs() {
    check_example("actix", "/danger/delete-account").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_axum_example_answers_as_documented_and_logs() {
    check_example("axum", "/account/delete").await;
}
