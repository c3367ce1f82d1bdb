//! Shared test support: verdict helpers, a fake-clocked issuer, a real
//! redis-server on a free loopback port, `reauth serve` as a child process.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use reauth::testing::TestIssuer;
use reauth::{FakeClock, Requirement, Verifier};

/// The fenced block of README.md whose info string is exactly `info`.
pub fn readme_block(info: &str) -> String {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let mut found = Vec::new();
    let mut lines = readme.lines();
    while let Some(line) = lines.next() {
        if line.trim_end() == format!("```{info}") {
            let body: Vec<&str> = lines
                .by_ref()
                .take_while(|l| !l.starts_with("```"))
                .collect();
            found.push(body.join("\n") + "\n");
        }
    }
    assert_eq!(
        found.len(),
        1,
        "README.md must have exactly one ```{info} block"
    );
    found.pop().unwrap()
}

/// A loopback port nothing listens on right now (for a server a test
/// starts, or an address that must refuse connections).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The code a verification ends with, or `"accepted"`.
pub async fn verdict(v: &Verifier, token: &str, req: &Requirement) -> &'static str {
    match v.verify(token, req).await {
        Ok(_) => "accepted",
        Err(e) => e.code(),
    }
}

/// [`verdict`] with no freshness requirement.
pub async fn code(v: &Verifier, token: &str) -> &'static str {
    verdict(v, token, &Requirement::none()).await
}

/// An issuer and a verifier sharing a fake clock (set to the system time).
pub async fn with_fake_clock() -> (FakeClock, TestIssuer, Verifier) {
    let clock = FakeClock::now_system();
    let issuer = TestIssuer::start_with_clock(Arc::new(clock.clone())).await;
    let verifier = issuer.verifier().await;
    (clock, issuer, verifier)
}

/// Whether the user opted out of tests that need `needs` with `var=1`:
/// refused under CI; otherwise the test says it is skipped on the terminal
/// (past the harness's output capture, so a plain `cargo test` shows it).
pub fn skipped(var: &str, needs: &str) -> bool {
    if !std::env::var(var).is_ok_and(|v| v == "1") {
        return false;
    }
    use std::io::Write;
    assert!(
        std::env::var_os("CI").is_none(),
        "{var}=1 under CI: CI must run the tests that need {needs}"
    );
    let test = std::thread::current().name().unwrap_or("a test").to_owned();
    let _ = writeln!(
        std::io::stderr(),
        "!!! SKIPPED {test}: {var}=1 (it needs {needs}) !!!"
    );
    true
}

pub struct Redis {
    child: Child,
    pub port: u16,
    dir: PathBuf,
}

impl Redis {
    /// `Some(())` when the Redis tests should run. A missing `redis-server`
    /// fails the test with the way to install it, unless the user opted out
    /// with `REAUTH_SKIP_REDIS=1`: then the test is skipped and says so on
    /// the terminal (written past the test harness's output capture, so a
    /// plain `cargo test` shows it).
    pub fn available() -> Option<()> {
        if skipped("REAUTH_SKIP_REDIS", "redis-server") {
            return None;
        }
        let found = Command::new("redis-server")
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success());
        assert!(
            found,
            "redis-server is not installed; this test needs it (and redis-cli). Install it \
             (Debian/Ubuntu: apt-get install redis-server; macOS: brew install redis), or skip \
             the Redis tests with REAUTH_SKIP_REDIS=1"
        );
        Some(())
    }

    /// Starts redis-server with an append-only file (state survives a restart).
    pub fn start() -> Option<Self> {
        Self::available()?;
        let port = free_port();
        let dir = std::env::temp_dir().join(format!("reauth-redis-{port}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let child = Self::spawn(port, &dir);
        Some(Self { child, port, dir })
    }

    fn spawn(port: u16, dir: &PathBuf) -> Child {
        let child = Command::new("redis-server")
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
            ])
            .args(["--appendonly", "yes", "--appendfsync", "always", "--dir"])
            .arg(dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "redis-server did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        child
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    pub fn restart(&mut self) {
        self.child = Self::spawn(self.port, &self.dir);
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

pub mod browser;
#[cfg(unix)]
pub mod chromium;
pub mod cluster;
pub mod preflight;
pub mod provider;

/// `redis-cli -p PORT ARGS...`, its output trimmed (Debian's redis-server
/// package ships redis-cli).
pub fn redis_cli(port: u16, args: &[&str]) -> String {
    let out = Command::new("redis-cli")
        .args(["-p", &port.to_string()])
        .args(args)
        .output()
        .expect("redis-cli (apt-get install redis-server)");
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

// ---- `reauth serve` as a child process (integration tests with the `cli` feature)

#[cfg(feature = "cli")]
mod serve_support {
    use std::process::Stdio;
    use std::time::Duration;

    use reauth::testing::TestIssuer;
    use serde_json::Value;
    use tokio::io::{AsyncBufReadExt, BufReader};
    use tokio::process::{Child, Command};

    pub const BIN: &str = env!("CARGO_BIN_EXE_reauth");

    pub struct Gate {
        pub child: Child,
        pub base: String,
        /// Every line the gate logged (stderr).
        pub logs: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    }

    impl Gate {
        pub fn logged(&self, needle: &str) -> bool {
            self.logs.lock().unwrap().iter().any(|l| l.contains(needle))
        }
    }

    pub async fn serve(issuer: &TestIssuer, extra: &[&str]) -> Gate {
        serve_env(issuer, extra, &[("RUST_LOG", "info")]).await
    }

    /// `reauth serve` with these extra arguments and environment.
    pub async fn serve_env(issuer: &TestIssuer, extra: &[&str], env: &[(&str, &str)]) -> Gate {
        let mut args = vec!["--issuer", issuer.issuer(), "--audience", "test-client"];
        args.extend_from_slice(extra);
        serve_args(&args, env).await
    }

    /// `reauth serve ARGS` (two workers; on a free port unless ARGS bind).
    pub async fn serve_args(args: &[&str], env: &[(&str, &str)]) -> Gate {
        let mut all = vec!["serve", "--workers", "2"];
        // A test that needs a known address (a public URL) binds it itself.
        if !args.contains(&"--bind") {
            all.extend(["--bind", "127.0.0.1:0"]);
        }
        all.extend_from_slice(args);
        let mut child = Command::new(BIN)
            .args(&all)
            .envs(env.iter().copied())
            .env("NO_COLOR", "1")
            .stderr(Stdio::piped())
            .stdout(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let addr = tokio::time::timeout(Duration::from_secs(30), async {
            let mut seen = Vec::new();
            while let Some(line) = lines.next_line().await.unwrap() {
                if let Some(rest) = line.split("addr=").nth(1) {
                    return rest.split_whitespace().next().unwrap().to_owned();
                }
                // --log-format json
                if let Some(rest) = line.split("\"addr\":\"").nth(1) {
                    return rest.split('"').next().unwrap().to_owned();
                }
                seen.push(line);
            }
            panic!("serve exited before listening:\n{}", seen.join("\n"));
        })
        .await
        .expect("serve starts");
        let logs = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let sink = logs.clone();
        tokio::spawn(async move {
            while let Ok(Some(line)) = lines.next_line().await {
                sink.lock().unwrap().push(line);
            }
        });
        Gate {
            child,
            base: format!("http://{addr}"),
            logs,
        }
    }

    /// `reauth serve --bind unix:PATH ARGS`, once it says it listens.
    pub async fn serve_unix(issuer: &TestIssuer, path: &str, extra: &[&str]) -> Child {
        let bind = format!("unix:{path}");
        let mut child = Command::new(BIN)
            .args([
                "serve",
                "--issuer",
                issuer.issuer(),
                "--audience",
                "test-client",
            ])
            .args(["--bind", &bind, "--workers", "1"])
            .args(extra)
            .env("RUST_LOG", "info")
            .env("NO_COLOR", "1")
            .stderr(Stdio::piped())
            .stdout(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        tokio::time::timeout(Duration::from_secs(30), async {
            while let Some(line) = lines.next_line().await.unwrap() {
                if line.contains("on a Unix socket") {
                    return;
                }
            }
            panic!("serve exited before listening");
        })
        .await
        .expect("serve listens");
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        child
    }

    pub struct Reply {
        pub status: u16,
        pub headers: reqwest::header::HeaderMap,
        pub body: String,
    }

    impl Reply {
        pub fn header(&self, name: &str) -> Option<&str> {
            self.headers.get(name).map(|v| v.to_str().unwrap())
        }
        pub fn error(&self) -> String {
            serde_json::from_str::<Value>(&self.body).unwrap()["error"]
                .as_str()
                .unwrap()
                .to_owned()
        }
    }

    pub async fn get(gate: &Gate, path: &str, token: Option<&str>) -> Reply {
        let mut req = reqwest::Client::new().get(format!("{}{path}", gate.base));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let res = req.send().await.unwrap();
        Reply {
            status: res.status().as_u16(),
            headers: res.headers().clone(),
            body: res.text().await.unwrap(),
        }
    }
}

#[cfg(feature = "cli")]
#[allow(unused_imports)]
pub use serve_support::*;
