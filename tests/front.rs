//! `reauth serve --upstream`: the gate as the front door, run as a child
//! process in front of a real upstream (axum) on loopback: identity
//! headers from the decision only, refusals answered by the gate (the
//! upstream never sees them), forwarded headers trusted only from trusted
//! proxies, bodies streamed both ways, a WebSocket through, 502/504 for a
//! failing upstream, a drain on SIGTERM, path-confusion probes refused.
#![cfg(feature = "cli")]

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::body::Body;
use axum::extract::ws::{Message, WebSocketUpgrade};
use axum::http::HeaderMap;
use axum::routing::get;
use futures_util::{SinkExt, StreamExt};
use http_body_util::BodyExt;
use reauth::testing::TestIssuer;
use serde_json::{Value, json};
use support::{Gate, free_port, serve};

const POLICY: &str = r#"
[defaults]
max_age = "1h"

[[route]]
name = "static"
path = "/static/**"
public = true

[[route]]
name = "delete-account"
methods = ["POST"]
path = "/account/delete"
max_age = "5m"

[[route]]
name = "app"
path = "/**"
"#;

/// The upstream app: counts what reaches it, echoes headers and body
/// length (counted as it streams), streams `/big?n=BYTES`, answers
/// `/slow` after 3 s, echoes WebSocket messages on `/ws`.
async fn upstream_with(port: u16, tls: Option<tokio_rustls::TlsAcceptor>) -> Arc<AtomicUsize> {
    let hits = Arc::new(AtomicUsize::new(0));
    let seen = hits.clone();
    let echo = move |headers: HeaderMap, body: Body| {
        let seen = seen.clone();
        async move {
            seen.fetch_add(1, Ordering::SeqCst);
            let mut len = 0usize;
            let mut body = body;
            while let Some(frame) = body.frame().await {
                if let Ok(data) = frame.unwrap().into_data() {
                    len += data.len();
                }
            }
            let h: serde_json::Map<String, Value> = headers
                .iter()
                .map(|(k, v)| {
                    (
                        k.as_str().to_owned(),
                        json!(v.to_str().unwrap_or("<bytes>")),
                    )
                })
                .collect();
            axum::Json(json!({"headers": h, "body_len": len}))
        }
    };
    let big = |q: axum::extract::Query<std::collections::HashMap<String, usize>>| async move {
        let n = q.get("n").copied().unwrap_or(0);
        let chunk = bytes::Bytes::from(vec![b'x'; 64 * 1024]);
        let chunks = n.div_ceil(chunk.len());
        let stream = futures_util::stream::iter((0..chunks).map(move |i| {
            let left = n - i * chunk.len();
            Ok::<_, std::io::Error>(chunk.slice(..left.min(chunk.len())))
        }));
        Body::from_stream(stream)
    };
    let slow = || async {
        tokio::time::sleep(Duration::from_secs(3)).await;
        "slow"
    };
    let ws = |upgrade: WebSocketUpgrade| async move {
        upgrade.on_upgrade(|mut socket| async move {
            while let Some(Ok(msg)) = socket.recv().await {
                if let Message::Text(t) = msg {
                    let _ = socket.send(Message::Text(format!("echo {t}").into())).await;
                }
            }
        })
    };
    let app = axum::Router::new()
        .route("/big", get(big))
        .route("/slow", get(slow))
        .route("/ws", get(ws))
        .fallback(echo);
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .unwrap();
    match tls {
        None => {
            tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        }
        Some(acceptor) => {
            tokio::spawn(async move {
                loop {
                    let (tcp, _) = listener.accept().await.unwrap();
                    let (acceptor, app) = (acceptor.clone(), app.clone());
                    tokio::spawn(async move {
                        let Ok(stream) = acceptor.accept(tcp).await else {
                            return;
                        };
                        let service = hyper_util::service::TowerToHyperService::new(app);
                        let _ = hyper_util::server::conn::auto::Builder::new(
                            hyper_util::rt::TokioExecutor::new(),
                        )
                        .serve_connection_with_upgrades(
                            hyper_util::rt::TokioIo::new(stream),
                            service,
                        )
                        .await;
                    });
                }
            });
        }
    }
    hits
}

/// [`upstream_with`] over plain http.
async fn upstream(port: u16) -> Arc<AtomicUsize> {
    upstream_with(port, None).await
}

struct Setup {
    issuer: TestIssuer,
    gate: Gate,
    hits: Arc<AtomicUsize>,
    _dir: Dir,
}

struct Dir(std::path::PathBuf);
impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

async fn front(extra: &[&str]) -> Setup {
    let issuer = TestIssuer::start().await;
    let app_port = free_port();
    let hits = upstream(app_port).await;
    let dir = std::env::temp_dir().join(format!(
        "reauth-front-{}-{}",
        std::process::id(),
        free_port()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let policy = dir.join("reauth.toml");
    std::fs::write(&policy, POLICY).unwrap();
    let upstream = format!("http://127.0.0.1:{app_port}");
    let mut args = vec![
        "--config",
        policy.to_str().unwrap(),
        "--upstream",
        &upstream,
        "--admin-bind",
        "127.0.0.1:0",
    ];
    args.extend_from_slice(extra);
    let gate = serve(&issuer, &args).await;
    Setup {
        issuer,
        gate,
        hits,
        _dir: Dir(dir),
    }
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn allowed_requests_reach_the_upstream_with_the_identity_only() {
    let s = front(&[]).await;
    let fresh = s.issuer.token().auth_time_ago(30).sign();
    let r = client()
        .get(format!("{}/home?q=1", s.gate.base))
        .bearer_auth(&fresh)
        .header("x-reauth-subject", "mallory")
        .header("x-reauth-anything", "forged")
        .header("x-forwarded-for", "6.6.6.6")
        .header("x-forwarded-host", "evil.example")
        .header("forwarded", "for=6.6.6.6;host=evil.example")
        .header("connection", "x-drop-me")
        .header("x-drop-me", "hop")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let seen: Value = r.json().await.unwrap();
    let h = &seen["headers"];
    assert_eq!(h["x-reauth-subject"], "user-1");
    assert_eq!(h["x-reauth-route"], "app");
    assert_eq!(h["x-reauth-anything"], Value::Null);
    assert_eq!(h["x-forwarded-for"], "127.0.0.1", "{h}");
    assert_eq!(h["x-forwarded-proto"], "http");
    assert_eq!(
        h["x-forwarded-host"],
        s.gate.base.trim_start_matches("http://")
    );
    assert_eq!(h["forwarded"], Value::Null);
    assert_eq!(
        h["x-drop-me"],
        Value::Null,
        "hop-by-hop, named in Connection"
    );
    assert!(
        h["authorization"].is_string(),
        "the app still gets the token"
    );
    assert_eq!(s.hits.load(Ordering::SeqCst), 1);

    // A public route: no token, the route only.
    let r = client()
        .get(format!("{}/static/app.js", s.gate.base))
        .header("x-reauth-subject", "mallory")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let seen: Value = r.json().await.unwrap();
    assert_eq!(seen["headers"]["x-reauth-subject"], Value::Null);
    assert_eq!(seen["headers"]["x-reauth-route"], "static");
}

/// Sends `line` and `headers` as written (no normalisation) and returns
/// the status.
async fn raw(base: &str, line: &str, headers: &str) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = base.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let req = format!(
        "{line}\r\nHost: {addr}\r\n{headers}Content-Length: 0\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(req.as_bytes()).await.unwrap();
    let mut out = Vec::new();
    stream.read_to_end(&mut out).await.unwrap();
    let head = String::from_utf8_lossy(&out);
    head.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_are_answered_by_the_gate_and_never_reach_the_upstream() {
    let s = front(&[]).await;
    let stale = s.issuer.token().auth_time_ago(3600).sign();
    let r = client()
        .post(format!("{}/account/delete", s.gate.base))
        .bearer_auth(&stale)
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let challenges: Vec<_> = r.headers().get_all("www-authenticate").iter().collect();
    assert_eq!(challenges.len(), 1);
    let c = challenges[0].to_str().unwrap();
    assert!(
        c.contains("insufficient_user_authentication") && c.contains("max_age=\"300\""),
        "{c}"
    );
    // No token, a forged identity header: still 401.
    let r = client()
        .get(format!("{}/home", s.gate.base))
        .header("x-reauth-subject", "user-1")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    // Path confusion, sent raw (an HTTP client library would normalise the
    // path first): a path that reads as another route, one that reads two
    // ways, a method override where routes are chosen by method. Each is
    // judged on the very request line the upstream would get.
    for (line, extra) in [
        ("POST /static//../account/delete HTTP/1.1", ""),
        ("POST /static/%2e%2e/account/delete HTTP/1.1", ""),
        ("POST /static/..%2faccount/delete HTTP/1.1", ""),
        ("POST /static/./../account/delete HTTP/1.1", ""),
        ("POST /STATIC/../Account/Delete/ HTTP/1.1", ""),
        ("POST /home HTTP/1.1", "X-HTTP-Method-Override: DELETE\r\n"),
        ("GET /static/x?_method=POST HTTP/1.1", ""),
    ] {
        let status = raw(
            &s.gate.base,
            line,
            &format!("Authorization: Bearer {stale}\r\n{extra}"),
        )
        .await;
        assert!([400, 401, 403].contains(&status), "{line}: {status}");
    }
    assert_eq!(
        s.hits.load(Ordering::SeqCst),
        0,
        "the upstream saw a refused request"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trusted_proxy_forwarded_headers_are_kept_and_appended() {
    let s = front(&["--trusted-proxies", "127.0.0.0/8,::1"]).await;
    let fresh = s.issuer.token().auth_time_ago(30).sign();
    let r = client()
        .get(format!("{}/home", s.gate.base))
        .bearer_auth(&fresh)
        .header("x-forwarded-for", "203.0.113.7")
        .header("x-forwarded-proto", "https")
        .header("x-forwarded-host", "app.example.com")
        .send()
        .await
        .unwrap();
    let seen: Value = r.json().await.unwrap();
    let h = &seen["headers"];
    assert_eq!(h["x-forwarded-for"], "203.0.113.7, 127.0.0.1");
    assert_eq!(h["x-forwarded-proto"], "https");
    assert_eq!(h["x-forwarded-host"], "app.example.com");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bodies_of_100_mb_stream_both_ways() {
    let s = front(&[]).await;
    let fresh = s.issuer.token().auth_time_ago(30).sign();
    const N: usize = 100 * 1024 * 1024;
    // Up: made as it is sent, counted as it arrives.
    let chunk = bytes::Bytes::from(vec![b'u'; 256 * 1024]);
    let stream = futures_util::stream::iter(
        (0..N / chunk.len()).map(move |_| Ok::<_, std::io::Error>(chunk.clone())),
    );
    let r = client()
        .post(format!("{}/upload", s.gate.base))
        .bearer_auth(&fresh)
        .body(reqwest::Body::wrap_stream(stream))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let seen: Value = r.json().await.unwrap();
    assert_eq!(seen["body_len"], N);
    // Down.
    let r = client()
        .get(format!("{}/big?n={N}", s.gate.base))
        .bearer_auth(&fresh)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let mut got = 0usize;
    let mut body = r.bytes_stream();
    while let Some(chunk) = body.next().await {
        got += chunk.unwrap().len();
    }
    assert_eq!(got, N);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_websocket_works_after_the_decision() {
    let s = front(&[]).await;
    let fresh = s.issuer.token().auth_time_ago(30).sign();
    let url = format!("{}/ws", s.gate.base.replace("http://", "ws://"));
    // Without a token: refused before any upgrade.
    let refused = tokio_tungstenite::connect_async(url.as_str()).await;
    assert!(refused.is_err());
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let mut req = url.as_str().into_client_request().unwrap();
    req.headers_mut()
        .insert("authorization", format!("Bearer {fresh}").parse().unwrap());
    let (mut ws, res) = tokio_tungstenite::connect_async(req).await.unwrap();
    assert_eq!(res.status(), 101);
    ws.send(tokio_tungstenite::tungstenite::Message::Text("hi".into()))
        .await
        .unwrap();
    let back = tokio::time::timeout(Duration::from_secs(5), ws.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(back.into_text().unwrap().as_str(), "echo hi");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_upstream_is_502_and_a_slow_one_504() {
    let s = front(&["--upstream-timeout", "1s"]).await;
    let fresh = s.issuer.token().auth_time_ago(30).sign();
    let r = client()
        .get(format!("{}/slow", s.gate.base))
        .bearer_auth(&fresh)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 504);
    assert_eq!(r.json::<Value>().await.unwrap()["error"], "gateway_timeout");
    // An upstream nobody listens on.
    let issuer = TestIssuer::start().await;
    let dead = format!("http://127.0.0.1:{}", free_port());
    let gate = serve(
        &issuer,
        &["--upstream", &dead, "--admin-bind", "127.0.0.1:0"],
    )
    .await;
    let r = client()
        .get(format!("{}/home", gate.base))
        .bearer_auth(issuer.token().sign())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 502);
    assert_eq!(r.json::<Value>().await.unwrap()["error"], "bad_gateway");
    assert!(gate.logged("the upstream failed"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_drains_requests_in_flight() {
    let mut s = front(&[]).await;
    let fresh = s.issuer.token().auth_time_ago(30).sign();
    let url = format!("{}/slow", s.gate.base);
    let slow = tokio::spawn(async move { client().get(url).bearer_auth(fresh).send().await });
    tokio::time::sleep(Duration::from_millis(500)).await;
    let pid = s.gate.child.id().unwrap();
    std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
    let r = slow.await.unwrap().unwrap();
    assert_eq!(r.status(), 200, "the request in flight finished");
    assert_eq!(r.text().await.unwrap(), "slow");
    let status = tokio::time::timeout(Duration::from_secs(15), s.gate.child.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(status.success(), "{status}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settings_that_cannot_work_stop_the_gate() {
    let issuer = TestIssuer::start().await;
    for (args, needle) in [
        (
            &["--upstream", "ftp://127.0.0.1:1"][..],
            "an http:// or https:// URL",
        ),
        (
            &["--upstream", "http://127.0.0.1:1/app"],
            "scheme, host and port only",
        ),
        (
            &[
                "--upstream",
                "http://127.0.0.1:1",
                "--trusted-proxies",
                "10.0.0.0/33",
            ],
            "--trusted-proxies",
        ),
    ] {
        let out = tokio::process::Command::new(support::BIN)
            .args([
                "serve",
                "--issuer",
                issuer.issuer(),
                "--audience",
                "test-client",
            ])
            .args(args)
            .args(["--admin-bind", "127.0.0.1:0", "--bind", "127.0.0.1:0"])
            .output()
            .await
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(needle), "{args:?}: {err}");
    }
}

/// `--upstream-max-connections`: a request in flight holds its slot until
/// its response body ends; the next waits, within --upstream-timeout, and
/// never reaches the app while none is free.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_to_the_upstream_are_bounded_until_their_bodies_end() {
    let s = front(&[
        "--upstream-max-connections",
        "1",
        "--upstream-timeout",
        "2s",
    ])
    .await;
    let fresh = s.issuer.token().auth_time_ago(30).sign();
    let get = |path: &str| {
        client()
            .get(format!("{}{path}", s.gate.base))
            .bearer_auth(&fresh)
            .send()
    };
    // A 100 MB download, its body left unread: the slot stays taken.
    let held = get("/big?n=100000000").await.unwrap();
    assert_eq!(held.status(), 200);
    let before = s.hits.load(Ordering::SeqCst);
    let waited = get("/home").await.unwrap();
    assert_eq!(waited.status(), 504);
    assert_eq!(
        s.hits.load(Ordering::SeqCst),
        before,
        "no slot, no upstream request"
    );
    // The log line names the flag (read from the gate's stderr, so poll).
    let mut named = false;
    for _ in 0..50 {
        named = s.gate.logged("raise --upstream-max-connections");
        if named {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(named, "the log names --upstream-max-connections");
    // The body dropped, the slot is free again.
    drop(held);
    let mut freed = 0;
    for _ in 0..50 {
        let r = get("/home").await.unwrap();
        freed = r.status().as_u16();
        if freed == 200 {
            break;
        }
    }
    assert_eq!(freed, 200);
    assert_eq!(s.hits.load(Ordering::SeqCst), before + 1);
    // Bodies read to their end, and a HEAD (no body), each give the one
    // slot back: the last request still gets it.
    for _ in 0..3 {
        let r = get("/big?n=300000").await.unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(r.bytes().await.unwrap().len(), 300_000);
    }
    let head = client()
        .head(format!("{}/home", s.gate.base))
        .bearer_auth(&fresh)
        .send()
        .await
        .unwrap();
    assert_eq!(head.status(), 200);
    let last = get("/home").await.unwrap();
    assert_eq!(last.status(), 200, "a slot leaked");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http2_clients_are_served() {
    use hyper_util::client::legacy::Client;
    use hyper_util::rt::TokioExecutor;
    let s = front(&[]).await;
    let fresh = s.issuer.token().auth_time_ago(30).sign();
    let h2: Client<_, http_body_util::Empty<bytes::Bytes>> = Client::builder(TokioExecutor::new())
        .http2_only(true)
        .build_http();
    let req = axum::http::Request::get(format!("{}/home", s.gate.base))
        .header("authorization", format!("Bearer {fresh}"))
        .body(http_body_util::Empty::new())
        .unwrap();
    let res = h2.request(req).await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.version(), axum::http::Version::HTTP_2);
    let body = res.into_body().collect().await.unwrap().to_bytes();
    let seen: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(seen["headers"]["x-reauth-subject"], "user-1");
    assert!(
        seen["headers"]["host"].is_string(),
        "the app gets a Host: {seen}"
    );
}

/// The README's "The gate in front" command line, its example values
/// replaced by this test's, runs and lets a fresh token through.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_readme_command_line_runs() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let block = readme
        .split("```sh\n")
        .skip(1)
        .map(|b| b.split("```").next().unwrap())
        .find(|b| b.contains("--upstream"))
        .expect("README has the front door's command line");
    let issuer = TestIssuer::start().await;
    let app_port = free_port();
    let hits = upstream(app_port).await;
    let dir = std::env::temp_dir().join(format!("reauth-front-readme-{}", free_port()));
    std::fs::create_dir_all(&dir).unwrap();
    let policy = dir.join("reauth.toml");
    std::fs::write(&policy, POLICY).unwrap();
    let app = format!("http://127.0.0.1:{app_port}");
    let values = [
        ("https://id.example.com", issuer.issuer()),
        ("my-app", "test-client"),
        ("/etc/reauth/reauth.toml", policy.to_str().unwrap()),
        ("0.0.0.0:8000", "127.0.0.1:0"),
        ("http://127.0.0.1:3000", &app),
        ("127.0.0.1:9090", "127.0.0.1:0"),
    ];
    let line = block.replace("\\\n", " ");
    let args: Vec<String> = line
        .split_whitespace()
        .skip(2)
        .map(|w| {
            values
                .iter()
                .find(|(f, _)| *f == w)
                .map_or(w.to_owned(), |(_, t)| (*t).to_owned())
        })
        .collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let gate = support::serve_args(&args, &[("RUST_LOG", "info")]).await;
    let token = issuer.token().auth_time_ago(30).sign();
    let r = client()
        .get(format!("{}/home?secret=1", gate.base))
        .bearer_auth(&token)
        .header("cookie", "session=cookie-value")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(hits.load(Ordering::SeqCst), 1);
    // One access-log line: route, status, upstream status, latency; never
    // the token, the cookie or the query.
    let logs = gate.logs.lock().unwrap().clone();
    let access: Vec<&String> = logs
        .iter()
        .filter(|l| l.contains("reauth: request"))
        .collect();
    assert_eq!(access.len(), 1, "{logs:?}");
    for field in ["route=", "status=200", "upstream_status=200", "latency_us="] {
        assert!(access[0].contains(field), "{field}: {}", access[0]);
    }
    for secret in [token.as_str(), "cookie-value", "secret=1"] {
        assert!(!logs.iter().any(|l| l.contains(secret)), "{secret} logged");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// A test CA and a certificate for 127.0.0.1 it signed (openssl, as
/// `.ci/run` installs it), in `dir`: (CA cert, leaf cert, leaf key).
fn certificate(dir: &std::path::Path, name: &str) -> (String, String, String) {
    let path = |f: &str| dir.join(format!("{name}-{f}")).to_str().unwrap().to_owned();
    let run = |args: &[&str]| {
        let ok = std::process::Command::new("openssl")
            .args(args)
            .stderr(std::process::Stdio::null())
            .status()
            .expect("openssl (apt-get install openssl)");
        assert!(ok.success(), "openssl {args:?}");
    };
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
    ];
    let (ca, ca_key, csr, leaf, key, ext) = (
        path("ca.pem"),
        path("ca.key"),
        path("leaf.csr"),
        path("leaf.pem"),
        path("leaf.key"),
        path("ext.cnf"),
    );
    let mut a = vec!["req", "-x509"];
    a.extend(ec);
    a.extend([
        "-days",
        "1",
        "-subj",
        "/CN=reauth test CA",
        "-keyout",
        &ca_key,
        "-out",
        &ca,
    ]);
    run(&a);
    let mut a = vec!["req"];
    a.extend(ec);
    a.extend(["-subj", "/CN=127.0.0.1", "-keyout", &key, "-out", &csr]);
    run(&a);
    std::fs::write(
        &ext,
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=critical,CA:FALSE\n",
    )
    .unwrap();
    run(&[
        "x509",
        "-req",
        "-in",
        &csr,
        "-CA",
        &ca,
        "-CAkey",
        &ca_key,
        "-CAcreateserial",
        "-days",
        "1",
        "-extfile",
        &ext,
        "-out",
        &leaf,
    ]);
    (ca, leaf, key)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_with_a_test_certificate_and_a_reload_on_sighup() {
    let dir = std::env::temp_dir().join(format!("reauth-front-tls-{}", free_port()));
    std::fs::create_dir_all(&dir).unwrap();
    let (ca, cert, key) = certificate(&dir, "first");
    let s = front(&["--tls-cert", &cert, "--tls-key", &key]).await;
    let https = s.gate.base.replace("http://", "https://");
    let trusting = |pem: &str| {
        reqwest::Client::builder()
            .tls_certs_only([reqwest::Certificate::from_pem(&std::fs::read(pem).unwrap()).unwrap()])
            .build()
            .unwrap()
    };
    let fresh = s.issuer.token().auth_time_ago(30).sign();
    let r = trusting(&ca)
        .get(format!("{https}/home"))
        .bearer_auth(&fresh)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let seen: Value = r.json().await.unwrap();
    assert_eq!(seen["headers"]["x-forwarded-proto"], "https");
    assert_eq!(seen["headers"]["x-reauth-subject"], "user-1");
    // Plain http on the TLS port is not served.
    assert!(
        client()
            .get(format!("{}/home", s.gate.base))
            .send()
            .await
            .is_err()
    );
    // A new certificate in the same files, SIGHUP: new connections get it.
    let (new_ca, new_cert, new_key) = certificate(&dir, "second");
    std::fs::copy(&new_cert, &cert).unwrap();
    std::fs::copy(&new_key, &key).unwrap();
    let pid = s.gate.child.id().unwrap().to_string();
    std::process::Command::new("kill")
        .args(["-HUP", &pid])
        .status()
        .unwrap();
    let mut reloaded = false;
    for _ in 0..100 {
        if let Ok(r) = trusting(&new_ca)
            .get(format!("{https}/home"))
            .bearer_auth(&fresh)
            .send()
            .await
        {
            reloaded = r.status() == 200;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(reloaded, "the reloaded certificate is served");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_route_may_name_its_own_upstream() {
    let issuer = TestIssuer::start().await;
    let (main_port, other_port) = (free_port(), free_port());
    let main_hits = upstream(main_port).await;
    let other_hits = upstream(other_port).await;
    let dir = std::env::temp_dir().join(format!("reauth-front-routes-{}", free_port()));
    std::fs::create_dir_all(&dir).unwrap();
    let policy = dir.join("reauth.toml");
    std::fs::write(
        &policy,
        format!(
            "[[route]]\nname = \"billing\"\npath = \"/billing/**\"\nupstream = \"http://127.0.0.1:{other_port}\"\n\n\
             [[route]]\nname = \"app\"\npath = \"/**\"\n"
        ),
    )
    .unwrap();
    let main = format!("http://127.0.0.1:{main_port}");
    let gate = serve(
        &issuer,
        &[
            "--config",
            policy.to_str().unwrap(),
            "--upstream",
            &main,
            "--admin-bind",
            "127.0.0.1:0",
        ],
    )
    .await;
    let token = issuer.token().sign();
    for (path, hits) in [("/billing/invoices", &other_hits), ("/home", &main_hits)] {
        let r = client()
            .get(format!("{}{path}", gate.base))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{path}");
        assert_eq!(
            hits.load(Ordering::SeqCst),
            1,
            "{path} reached its upstream"
        );
    }
    // A route's upstream must be http(s)://host:port: a path or another
    // scheme is a mistake in the file, found at start-up.
    for bad in ["ftp://127.0.0.1:1", "http://127.0.0.1:1/app", "127.0.0.1:1"] {
        std::fs::write(
            &policy,
            format!("[[route]]\nname = \"a\"\npath = \"/**\"\nupstream = \"{bad}\"\n"),
        )
        .unwrap();
        let out = std::process::Command::new(support::BIN)
            .args(["serve", "--check-config", policy.to_str().unwrap()])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{bad}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("upstream"),
            "{bad}"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_https_upstream_with_a_given_ca() {
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::{CertificateDer, PrivateKeyDer};
    let dir = std::env::temp_dir().join(format!("reauth-front-up-tls-{}", free_port()));
    std::fs::create_dir_all(&dir).unwrap();
    let (ca, cert, key) = certificate(&dir, "upstream");
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&cert)
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let provider = Arc::new(tokio_rustls::rustls::crypto::aws_lc_rs::default_provider());
    let config = tokio_rustls::rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(chain, PrivateKeyDer::from_pem_file(&key).unwrap())
        .unwrap();
    let port = free_port();
    let hits = upstream_with(
        port,
        Some(tokio_rustls::TlsAcceptor::from(Arc::new(config))),
    )
    .await;
    let issuer = TestIssuer::start().await;
    let https = format!("https://127.0.0.1:{port}");
    let gate = serve(
        &issuer,
        &[
            "--upstream",
            &https,
            "--upstream-ca",
            &ca,
            "--admin-bind",
            "127.0.0.1:0",
        ],
    )
    .await;
    let token = issuer.token().sign();
    let r = client()
        .get(format!("{}/home", gate.base))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(hits.load(Ordering::SeqCst), 1);
    // The system's roots do not know the test CA: 502, never a request
    // sent to an unverified upstream.
    let gate = serve(
        &issuer,
        &["--upstream", &https, "--admin-bind", "127.0.0.1:0"],
    )
    .await;
    let r = client()
        .get(format!("{}/home", gate.base))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 502);
    assert_eq!(hits.load(Ordering::SeqCst), 1);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_decisions_and_upstream_answers() {
    let metrics = format!("127.0.0.1:{}", free_port());
    let s = front(&["--metrics-bind", &metrics, "--upstream-timeout", "1s"]).await;
    let fresh = s.issuer.token().auth_time_ago(30).sign();
    for path in ["/home", "/slow"] {
        let _ = client()
            .get(format!("{}{path}", s.gate.base))
            .bearer_auth(&fresh)
            .send()
            .await
            .unwrap();
    }
    let text = reqwest::get(format!("http://{metrics}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for line in [
        "reauth_upstream_responses_total{outcome=\"2xx\"} 1",
        "reauth_upstream_responses_total{outcome=\"gateway_timeout\"} 1",
        "reauth_decisions_total{route=\"app\",code=\"ok\"} 1",
        "reauth_upstream_duration_seconds_count 2",
    ] {
        assert!(text.contains(line), "{line} in:\n{text}");
    }
}
