//! The path-confusion probes of `tests/gate_properties.rs`, sent over
//! HTTP to the gate as the front door (`reauth serve --upstream`, a child
//! process) in front of a real upstream that echoes the request line it
//! got and the route the gate named. Each request is written raw (an HTTP
//! client library would normalise the path first) and each answer is
//! compared with the library's own decision on the same line:
//! - a disguised path (case, percent-encoding, dot segments, doubled
//!   slashes) reaches the upstream under the route the library chooses,
//!   the same as the plain path, with the request line unchanged; or it
//!   never reaches it;
//! - without a token, a path that climbs out of `/pub/` reaches the app
//!   only as the public route, and only when every reading of it is under
//!   `/pub/`;
//! - an encoded `?` or `#` never reaches the app;
//! - a `_method` parameter, however written, never reaches the app where
//!   routes are chosen by method.
//!
//! What stops a request must be the gate's own refusal for the library's
//! reason (403 `no_route` or `ambiguous_request`, 401 without a token),
//! never hyper's 400 or a 5xx.
//!
//! (`beside_a_one_segment_route_nothing_weaker_answers_by_accident` in
//! `gate_properties.rs` draws a policy file per case; it stays a library
//! test.)
#![cfg(feature = "cli")]

#[path = "support/probes.rs"]
mod probes;
mod support;

use std::io::{Read, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::http::Request;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use reauth::gate::{PathLimits, Policy, path};
use reauth::testing::TestIssuer;
use serde_json::{Value, json};
use support::{Gate, free_port};

use probes::{
    BY_METHOD, POLICY, decide, escape_segment, method_param, path_and_disguise,
    with_encoded_delimiter,
};

/// What came back for one raw request.
#[derive(Debug, PartialEq)]
enum Seen {
    /// The upstream answered: the route the gate named and the request
    /// target the upstream got.
    Reached { route: String, target: String },
    /// The gate answered with this status and JSON `error` code; the
    /// upstream saw nothing. (Never a 5xx: the test fails first.)
    Stopped(u16, String),
}

/// How the gate stops what the library decides is not a route: a refusal
/// of its own making, never hyper's 400 or an upstream's failure.
fn stop_for(library: &str) -> Option<Seen> {
    match library {
        "none" => Some(Seen::Stopped(403, "no_route".into())),
        "refused" => Some(Seen::Stopped(403, "ambiguous_request".into())),
        _ => None,
    }
}

struct Front {
    _issuer: TestIssuer,
    gate: Gate,
    by_method: Gate,
    hits: Arc<AtomicUsize>,
    fresh: String,
    dir: std::path::PathBuf,
}

impl Drop for Front {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The upstream: answers every request with the target it got and the
/// `X-Reauth-Route` the gate set.
async fn echo(port: u16) -> Arc<AtomicUsize> {
    let hits = Arc::new(AtomicUsize::new(0));
    let seen = hits.clone();
    let app = axum::Router::new().fallback(move |req: Request<axum::body::Body>| {
        let seen = seen.clone();
        async move {
            seen.fetch_add(1, Ordering::SeqCst);
            let route = req
                .headers()
                .get("x-reauth-route")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned();
            axum::Json(json!({ "route": route, "target": req.uri().to_string() }))
        }
    });
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    hits
}

async fn start() -> Front {
    let issuer = TestIssuer::start().await;
    let app_port = free_port();
    let hits = echo(app_port).await;
    let dir = std::env::temp_dir().join(format!("reauth-front-probes-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let upstream = format!("http://127.0.0.1:{app_port}");
    let mut gates = Vec::new();
    for (name, policy) in [("policy.toml", POLICY), ("by-method.toml", BY_METHOD)] {
        let file = dir.join(name);
        std::fs::write(&file, policy).unwrap();
        let args = [
            "--config",
            file.to_str().unwrap(),
            "--upstream",
            &upstream,
            "--admin-bind",
            "127.0.0.1:0",
        ];
        // The access log off: thousands of requests.
        gates.push(
            support::serve_env(&issuer, &args, &[("RUST_LOG", "info,reauth::access=warn")]).await,
        );
    }
    let by_method = gates.pop().unwrap();
    let gate = gates.pop().unwrap();
    let fresh = issuer.token().auth_time_ago(30).sign();
    Front {
        _issuer: issuer,
        gate,
        by_method,
        hits,
        fresh,
        dir,
    }
}

impl Front {
    /// `GET target` written as is, with the fresh token or none.
    fn get(&self, gate: &Gate, target: &str, token: bool) -> Seen {
        let addr = gate.base.trim_start_matches("http://");
        let auth = if token {
            format!("Authorization: Bearer {}\r\n", self.fresh)
        } else {
            String::new()
        };
        let before = self.hits.load(Ordering::SeqCst);
        let mut stream = std::net::TcpStream::connect(addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        write!(
            stream,
            "GET {target} HTTP/1.1\r\nHost: {addr}\r\n{auth}Connection: close\r\n\r\n"
        )
        .unwrap();
        let mut out = Vec::new();
        stream.read_to_end(&mut out).unwrap();
        let text = String::from_utf8_lossy(&out);
        let status: u16 = text
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("no status line for {target}: {text}"));
        let reached = self.hits.load(Ordering::SeqCst) > before;
        let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
        assert!(
            !head.to_ascii_lowercase().contains("transfer-encoding"),
            "{target}: a body with a length is expected: {text}"
        );
        assert!(status < 500, "{target}: {text}");
        if !reached {
            assert!(status >= 400, "{target}: {status} without the upstream");
            let error = serde_json::from_str::<Value>(body)
                .ok()
                .and_then(|v| v["error"].as_str().map(str::to_owned))
                .unwrap_or_else(|| format!("(not the gate's JSON: {body})"));
            return Seen::Stopped(status, error);
        }
        assert_eq!(status, 200, "{target}: {text}");
        let v: Value = serde_json::from_str(body)
            .unwrap_or_else(|e| panic!("{target}: the upstream's echo: {e}: {text}"));
        Seen::Reached {
            route: v["route"].as_str().unwrap().to_owned(),
            target: v["target"].as_str().unwrap().to_owned(),
        }
    }
}

fn runner() -> TestRunner {
    TestRunner::new(Config {
        cases: 256,
        failure_persistence: None,
        ..Config::default()
    })
}

/// Runs the four probes against one pair of gates (the setup is the
/// costly part: a test issuer, an upstream, two child processes).
#[test]
fn the_path_confusion_probes_hold_against_the_front_door() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let front = rt.block_on(start());
    let policy = Policy::parse(POLICY).unwrap();
    let by_method = Policy::parse(BY_METHOD).unwrap();
    let outcome = |uri: &str| front.get(&front.gate, uri, true);

    // 1. A path and its disguises: the library's route, reached with the
    //    very request line sent, or stopped; never another route.
    runner()
        .run(&path_and_disguise(), |(plain, disguised)| {
            let mut seen = Vec::new();
            for uri in [&plain, &disguised] {
                let library = decide(&policy, uri);
                let got = outcome(uri);
                match (&got, stop_for(&library)) {
                    (Seen::Reached { route, target }, None) => {
                        prop_assert_eq!(route, &library, "{}", uri);
                        prop_assert_eq!(target, uri, "the request line was changed");
                    }
                    (_, expected) => prop_assert_eq!(
                        Some(&got),
                        expected.as_ref(),
                        "{} where the library says {}",
                        uri,
                        library
                    ),
                }
                seen.push(match got {
                    Seen::Reached { route, .. } => route,
                    Seen::Stopped(status, error) => format!("{status} {error}"),
                });
            }
            prop_assert_eq!(&seen[0], &seen[1], "{} vs {}", plain, disguised);
            Ok(())
        })
        .unwrap();

    // 2. No token: out of /pub/ only as the public route, and only when
    //    every reading stays under /pub/.
    runner()
        .run(&prop::collection::vec(escape_segment(), 1..5), |tail| {
            let uri = format!("/pub/{}", tail.join("/"));
            match front.get(&front.gate, &uri, false) {
                Seen::Reached { route, target } => {
                    prop_assert_eq!(route.as_str(), "public", "{}", uri);
                    prop_assert_eq!(&target, &uri);
                    for reading in path::readings(&uri, PathLimits::default()).unwrap() {
                        prop_assert_eq!(
                            reading.first().map(String::as_str),
                            Some("pub"),
                            "{}",
                            uri
                        );
                    }
                }
                Seen::Stopped(status, error) => {
                    let library = decide(&policy, &uri);
                    prop_assert_ne!(library.as_str(), "public", "{}", uri);
                    match stop_for(&library) {
                        Some(expected) => {
                            prop_assert_eq!(Seen::Stopped(status, error), expected, "{}", uri)
                        }
                        // A route that wants a login, and no token.
                        None => prop_assert_eq!(status, 401, "{}: {}", uri, error),
                    }
                }
            }
            Ok(())
        })
        .unwrap();

    // 3. An encoded `?` or `#`, once or twice, anywhere: never reaches it.
    runner()
        .run(&with_encoded_delimiter(), |uri| {
            prop_assert_eq!(decide(&policy, &uri), "refused", "{}", uri);
            prop_assert_eq!(outcome(&uri), stop_for("refused").unwrap(), "{}", uri);
            Ok(())
        })
        .unwrap();

    // 4. Where routes are chosen by method, `_method` however written never
    //    reaches the app; the other parameters alone do.
    let overrides = (
        method_param(),
        prop::collection::vec("[a-z][a-z0-9]{0,7}=[a-z0-9%]{0,6}", 0..3),
        any::<prop::sample::Index>(),
        prop_oneof![Just("&"), Just(";")],
        "[A-Z]{0,7}",
    );
    runner()
        .run(&overrides, |(name, others, at, sep, value)| {
            let mut params = others.clone();
            params.insert(at.index(others.len() + 1), format!("{name}={value}"));
            let uri = format!("/pub/x?{}", params.join(sep));
            // A raw space cannot be on a request line (hyper answers 400
            // before the gate sees it); `+` and `%20` are sent instead.
            prop_assume!(!uri.contains(' '));
            prop_assert_eq!(decide(&by_method, &uri), "refused", "{}", uri);
            prop_assert_eq!(
                front.get(&front.by_method, &uri, true),
                stop_for("refused").unwrap(),
                "{}",
                uri
            );
            if !others.is_empty() {
                let uri = format!("/pub/x?{}", others.join(sep));
                prop_assert_eq!(decide(&by_method, &uri), "public");
                prop_assert!(
                    matches!(
                        front.get(&front.by_method, &uri, true),
                        Seen::Reached { ref route, .. } if route == "public"
                    ),
                    "{}",
                    uri
                );
            }
            Ok(())
        })
        .unwrap();
    {
        // The gates are killed on drop, within the runtime that runs them.
        let _in = rt.enter();
        drop(front);
    }
    rt.shutdown_timeout(Duration::from_secs(5));
}
