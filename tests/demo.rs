//! `cargo run --example demo -- --serve`, as a newcomer runs it: the
//! labelled curl commands answer what their labels say, and SIGTERM stops it.
#![cfg(all(unix, feature = "cli"))]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Kills the demo when the test ends, passed or failed.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `cargo test` builds the examples beside the binaries it tests.
fn demo_binary() -> std::path::PathBuf {
    let bin = std::path::Path::new(env!("CARGO_BIN_EXE_reauth"));
    let demo = bin.parent().unwrap().join("examples").join("demo");
    assert!(
        demo.exists(),
        "{} not built: run the tests with `cargo test` (which builds the examples)",
        demo.display()
    );
    demo
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_serves_labelled_commands_and_stops_on_sigterm() {
    let mut child = Running(
        Command::new(demo_binary())
            .arg("--serve")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    // Lines arrive through a thread, so a stalled demo fails the test
    // instead of hanging it.
    let (tx, rx) = mpsc::channel();
    let stdout = BufReader::new(child.0.stdout.take().unwrap());
    std::thread::spawn(move || {
        for line in stdout.lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut text = String::new();
    let mut commands: Vec<(String, String)> = Vec::new();
    let mut label = String::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let line = rx
            .recv_timeout(left)
            .unwrap_or_else(|e| panic!("the demo stopped printing ({e}) after:\n{text}"));
        text.push_str(&line);
        text.push('\n');
        if let Some(l) = line.trim().strip_prefix("# ") {
            label = l.to_owned();
        } else if line.trim().starts_with("curl ") {
            commands.push((label.clone(), line.trim().to_owned()));
        }
        if line.starts_with("(tokens from") {
            break;
        }
    }
    assert!(text.contains("A *recent login*"), "the preamble: {text}");
    assert!(text.contains("Ctrl-C or SIGTERM"));
    assert!(
        text.contains("cargo run --example stepup"),
        "the browser flow: {text}"
    );
    assert_eq!(commands.len(), 4, "{text}");
    for (label, cmd) in &commands {
        // `curl -i -X POST URL -H 'Authorization: Bearer T'`, sent as is.
        let url = cmd.split_whitespace().nth(4).unwrap();
        let auth = cmd.split('\'').nth(1).unwrap();
        let (name, value) = auth.split_once(": ").unwrap();
        let status = reqwest::Client::new()
            .post(url)
            .header(name, value)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16();
        let expected: u16 = label
            .split("-> ")
            .nth(1)
            .and_then(|s| s.get(..3))
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("label without a status: {label}"));
        assert_eq!(status, expected, "{label}");
    }

    let kill = Command::new("kill")
        .args(["-TERM", &child.0.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let started = Instant::now();
    loop {
        if let Some(status) = child.0.try_wait().unwrap() {
            assert!(status.success(), "exit status after SIGTERM: {status}");
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the demo did not stop on SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}
