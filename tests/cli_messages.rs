//! What the `reauth` command says when things go wrong: usage errors that
//! name the flags, never a token echoed, logs without ANSI colours off a
//! terminal or as JSON, TLS failures with their reason, and a `serve --help`
//! that documents the gate. (A pasted `Bearer ` prefix and the README's
//! sample output are in `cli.rs`, beside the other `verify` tests.)
#![cfg(feature = "cli")]

mod support;

use std::process::{Command, Stdio};
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_reauth");

struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Out {
    fn json(&self) -> serde_json::Value {
        serde_json::from_str(self.stdout.trim())
            .unwrap_or_else(|e| panic!("stdout is one JSON line ({e}): {:?}", self.stdout))
    }
}

fn run(args: &[&str], stdin: Option<&str>) -> Out {
    use std::io::Write;
    let mut child = Command::new(BIN)
        .args(args)
        .env_remove("REAUTH_ISSUER")
        .env_remove("REAUTH_AUDIENCE")
        .env_remove("REAUTH_LOG_FORMAT")
        .env_remove("RUST_LOG")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut pipe = child.stdin.take().unwrap();
    if let Some(input) = stdin {
        pipe.write_all(input.as_bytes()).unwrap();
    }
    drop(pipe);
    let out = child.wait_with_output().unwrap();
    Out {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8(out.stderr).unwrap(),
    }
}

#[test]
fn a_usage_error_names_the_missing_flags() {
    let out = run(&["verify", "some-token"], None);
    assert_eq!(out.code, 2);
    let msg = out.json()["message"].as_str().unwrap().to_owned();
    assert!(
        msg.contains("--issuer") && msg.contains("--audience"),
        "the JSON says which flags are missing: {msg}"
    );
    assert_eq!(out.json()["error"], "config_error");
    assert!(out.stderr.contains("Usage:"), "{}", out.stderr);
}

#[test]
fn a_misplaced_token_is_never_echoed() {
    // A real-looking token where clap expects nothing more (two positionals).
    let token =
        "eyJhbGciOiJSUzI1NiIsImtpZCI6InJzYS0xIn0.eyJzdWIiOiJ1c2VyLTEifQ.c2lnbmF0dXJlLXNpZ25hdHVyZQ";
    let out = run(
        &[
            "verify",
            "--issuer",
            "https://issuer.example",
            "--audience",
            "a",
            token,
            token,
        ],
        None,
    );
    assert_eq!(out.code, 2);
    assert!(!out.stdout.contains("eyJ"), "stdout: {}", out.stdout);
    assert!(!out.stderr.contains("eyJ"), "stderr: {}", out.stderr);
    assert!(
        out.json()["message"]
            .as_str()
            .unwrap()
            .contains("unexpected argument '<token>'"),
        "{}",
        out.stdout
    );
    // As the value of a flag that takes none, too.
    let out = run(&["verify", "--pretty=eyJabc.def.ghi", "x"], None);
    assert_eq!(out.code, 2);
    assert!(
        out.json()["message"].as_str().unwrap().contains("<token>"),
        "{}",
        out.stdout
    );
    assert!(!(out.stdout + &out.stderr).contains("eyJ"));
}

/// `serve` with an issuer nobody answers on: it logs an error and exits 2.
fn failing_serve(extra: &[&str]) -> Out {
    let port = support::free_port();
    let issuer = format!("http://127.0.0.1:{port}");
    let mut args = vec![
        "serve",
        "--issuer",
        &issuer,
        "--audience",
        "a",
        "--fetch-timeout",
        "2s",
    ];
    args.extend_from_slice(extra);
    run(&args, None)
}

#[test]
fn logs_have_no_colour_off_a_terminal_and_can_be_json() {
    let out = failing_serve(&[]);
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("discovery failed"), "{}", out.stderr);
    assert!(
        !out.stderr.contains('\u{1b}'),
        "no ANSI escapes into a pipe: {:?}",
        out.stderr
    );
    // The reason a connection failed is named.
    assert!(out.stderr.contains("connection failed: "), "{}", out.stderr);
    assert!(
        out.stderr.to_lowercase().contains("refused"),
        "{}",
        out.stderr
    );

    let out = failing_serve(&["--log-format", "json"]);
    assert_eq!(out.code, 2);
    let lines: Vec<serde_json::Value> = out
        .stderr
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert!(
        lines
            .iter()
            .any(|l| l["level"] == "ERROR" && l["fields"]["message"] == "reauth: discovery failed"),
        "{}",
        out.stderr
    );
}

#[test]
fn an_untrusted_tls_certificate_is_named() {
    if std::process::Command::new("openssl")
        .arg("version")
        .output()
        .is_err()
    {
        panic!("openssl is required for this test (apt-get install openssl)");
    }
    // A self-signed CA certificate, and a self-signed end-entity one: rustls
    // names them differently; both must read "not trusted".
    for (name, constraints) in [("ca", "CA:TRUE"), ("leaf", "critical,CA:FALSE")] {
        let msg = tls_failure(name, constraints);
        assert!(msg.contains("not trusted"), "{name}: {msg}");
    }
}

fn tls_failure(name: &str, constraints: &str) -> String {
    let dir = std::env::temp_dir().join(format!("reauth-tls-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    let made = Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
        ])
        .args([
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ])
        .args(["-addext", &format!("basicConstraints={constraints}")])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(made.success());
    let port = support::free_port();
    let mut server = Command::new("openssl")
        .args(["s_server", "-quiet", "-www", "-accept", &port.to_string()])
        .arg("-cert")
        .arg(&cert)
        .arg("-key")
        .arg(&key)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let up = (0..200).any(|_| {
        std::thread::sleep(Duration::from_millis(50));
        std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
    });
    assert!(up, "openssl s_server did not listen on {port}");
    let issuer = format!("https://127.0.0.1:{port}");
    let out = run(
        &["verify", "--issuer", &issuer, "--audience", "a", "x.y.z"],
        None,
    );
    let _ = server.kill();
    let _ = server.wait();
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(out.code, 2);
    out.json()["message"].as_str().unwrap().to_owned()
}

#[test]
fn serve_help_documents_the_gate() {
    let out = Command::new(BIN)
        .args(["serve", "--help"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let help = String::from_utf8(out.stdout).unwrap();
    for needle in [
        "/verify",
        "/verify/<path>",
        "/healthz",
        "/backchannel-logout",
        "max_age=DURATION",
        "acr_values=A,B",
        "amr=M,N",
        "X-Reauth-Subject",
        "X-Reauth-Auth-Time",
        "X-Reauth-Reauthentication",
        "X-Reauth-Session",
        "WWW-Authenticate",
        "Cache-Control: no-store",
        "--log-format",
        "/livez",
        "/readyz",
        "--config",
        "--check-config",
        "--metrics-bind",
        "SIGHUP",
        "no_route",
        "ambiguous_request",
        "Retry-After",
    ] {
        assert!(
            help.contains(needle),
            "serve --help lacks {needle}:\n{help}"
        );
    }
}
