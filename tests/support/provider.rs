//! A real OpenID provider nobody on this project wrote (npm
//! `oidc-provider`, `tests/oidc-provider/`), and the step-up example, as
//! child processes on loopback.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// Kills the child when dropped.
pub struct Running(pub Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Waits (at most 60 s) for a stdout line starting with `prefix`.
fn wait_for_line(child: &mut Child, prefix: &str) -> String {
    let stdout = BufReader::new(child.stdout.take().unwrap());
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in stdout.lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) if line.starts_with(prefix) => return line,
            Ok(_) => {}
            Err(e) => panic!("no {prefix:?} line from the child within 60 s ({e})"),
        }
    }
}

pub struct Provider {
    _child: Running,
    pub issuer: String,
}

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/oidc-provider")
}

impl Provider {
    /// `Some` when the real-provider tests should run. Missing Node or the
    /// fixture's `node_modules` fails the test with the fix, unless the user
    /// opted out with `REAUTH_SKIP_PROVIDER=1` (refused under CI): then the
    /// test is skipped and says so past the output capture.
    pub fn available() -> Option<()> {
        if super::skipped("REAUTH_SKIP_PROVIDER", "Node and npm oidc-provider") {
            return None;
        }
        let node = Command::new("node")
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success());
        assert!(
            node,
            "node is not installed; the real-provider tests need Node 20+ (apt-get install nodejs npm), \
             or skip them with REAUTH_SKIP_PROVIDER=1"
        );
        assert!(
            fixture().join("node_modules/oidc-provider").exists(),
            "the oidc-provider fixture is not installed: run `npm ci --prefix tests/oidc-provider` \
             (or skip with REAUTH_SKIP_PROVIDER=1)"
        );
        Some(())
    }

    /// Starts the provider with one client.
    pub fn start(client_id: &str, secret: Option<&str>, redirect_uri: &str) -> Self {
        let mut cmd = Command::new("node");
        cmd.arg(fixture().join("server.mjs"))
            .env("CLIENT_ID", client_id)
            .env("REDIRECT_URI", redirect_uri)
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        if let Some(s) = secret {
            cmd.env("CLIENT_SECRET", s);
        }
        let mut child = cmd.spawn().expect("start node");
        let line = wait_for_line(&mut child, "ISSUER=");
        Self {
            _child: Running(child),
            issuer: line.trim_start_matches("ISSUER=").trim().to_owned(),
        }
    }

    /// Sets who logs in next (`{"sub", "acr", "amr", "auth_time"}`).
    pub async fn next_login(&self, login: serde_json::Value) {
        let res = reqwest::Client::new()
            .post(format!("{}/test/next-login", self.issuer))
            .body(login.to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    }

    /// How many logins the provider performed.
    pub async fn logins(&self) -> u64 {
        let text = reqwest::get(format!("{}/test/logins", self.issuer))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        v["logins"].as_u64().unwrap()
    }
}

/// `cargo run --example stepup -- ARGS` (the binary `cargo test` built),
/// or another example with the same flags ([`Example::start_named`]).
pub struct Example {
    _child: Running,
    pub base: String,
}

impl Example {
    pub fn start(port: u16, args: &[&str]) -> Self {
        Self::start_named("stepup", port, args)
    }

    /// The example `name` (`stepup`, `stepup_axum`: the same flags, routes
    /// and answers), listening on `port`.
    pub fn start_named(name: &str, port: u16, args: &[&str]) -> Self {
        let bin = Path::new(env!("CARGO_BIN_EXE_reauth"))
            .parent()
            .unwrap()
            .join("examples")
            .join(name);
        assert!(
            bin.exists(),
            "{} not built: run the tests with `cargo test` (which builds the examples), \
             or `cargo build --example {name}`",
            bin.display()
        );
        let base = format!("http://127.0.0.1:{port}");
        let bind = format!("127.0.0.1:{port}");
        let mut child = Command::new(bin)
            .args(args)
            .args(["--public-url", &base, "--bind", &bind])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        wait_for_line(&mut child, "reauth step-up example on");
        Self {
            _child: Running(child),
            base,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}
