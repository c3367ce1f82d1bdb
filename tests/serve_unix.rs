//! `reauth serve --bind unix:/PATH`: the forward-auth gate on a Unix
//! socket (a proxy on the same machine skips TCP per `/verify`), with the
//! documented file mode, a leftover socket file taken over, a live one
//! never stolen; and nginx with the README's guide talking to it.
#![cfg(all(unix, feature = "cli"))]

mod support;

use std::os::unix::fs::PermissionsExt;

use reauth::testing::TestIssuer;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::process::Command;

/// A GET of `/verify` over the socket, as nginx's guide makes it: the status.
async fn verify(path: &str, token: &str) -> u16 {
    let mut s = tokio::net::UnixStream::connect(path).await.unwrap();
    let req = format!(
        "GET /verify HTTP/1.1\r\nHost: gate\r\nAuthorization: Bearer {token}\r\nX-Original-URI: /x\r\nConnection: close\r\n\r\n"
    );
    s.write_all(req.as_bytes()).await.unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).await.unwrap();
    out.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_gate_listens_on_a_unix_socket_with_its_mode() {
    let issuer = TestIssuer::start().await;
    let dir = std::env::temp_dir().join(format!("reauth-uds-{}", support::free_port()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("gate.sock").to_str().unwrap().to_owned();
    let mut gate = support::serve_unix(&issuer, &path, &["--socket-mode", "600"]).await;
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    assert_eq!(verify(&path, &issuer.token().sign()).await, 200);
    assert_eq!(verify(&path, "not-a-token").await, 401);
    // A second gate never takes a socket another one answers on.
    let out = Command::new(support::BIN)
        .args([
            "serve",
            "--issuer",
            issuer.issuer(),
            "--audience",
            "test-client",
        ])
        .args(["--bind", &format!("unix:{path}")])
        .output()
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("another process answers"));
    // A leftover socket file (a gate killed without cleaning up) is taken over.
    gate.kill().await.unwrap();
    let _ = gate.wait().await;
    assert!(
        std::path::Path::new(&path).exists(),
        "the leftover is there"
    );
    let _gate = support::serve_unix(&issuer, &path, &[]).await;
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o660, "the default mode");
    assert_eq!(verify(&path, &issuer.token().sign()).await, 200);
    // Bad values are refused at start.
    for (bind, mode, needle) in [
        ("unix:relative.sock", "660", "an absolute path"),
        ("unix:/tmp/x.sock", "999", "octal file mode"),
    ] {
        let out = Command::new(support::BIN)
            .args([
                "serve",
                "--issuer",
                issuer.issuer(),
                "--audience",
                "test-client",
            ])
            .args(["--bind", bind, "--socket-mode", mode])
            .output()
            .await
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{bind} {mode}");
        let all = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(all.contains(needle), "{bind} {mode}: {all}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
