//! `reauth serve --stepup-client-id`: the gate's browser step-up against
//! the embedded test issuer, requests made as a proxy makes them (the
//! `/verify` subrequest with the original request's headers) and as a
//! browser makes them (the `/reauth/` endpoints). The proxies themselves,
//! with a real OpenID provider, are in `tests/proxies.rs`; a real browser
//! in `tests/chromium.rs`.
#![cfg(feature = "cli")]

mod support;

use std::path::PathBuf;

use reauth::testing::{TestIssuer, TestLogin};
use support::{Gate, free_port, serve};

const SESSION: &str = "reauth_id_token";
const HTML: &str = "text/html,application/xhtml+xml,*/*;q=0.8";

struct Dir(PathBuf);
impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn dir() -> Dir {
    let d = std::env::temp_dir().join(format!(
        "reauth-gate-stepup-{}-{}",
        std::process::id(),
        free_port()
    ));
    std::fs::create_dir_all(&d).unwrap();
    Dir(d)
}

fn write(dir: &Dir, name: &str, content: &[u8]) -> String {
    let p = dir.0.join(name);
    std::fs::write(&p, content).unwrap();
    p.to_str().unwrap().to_owned()
}

const POLICY: &str = r#"
[[route]]
name = "static"
path = "/static/**"
public = true

[[route]]
name = "delete-account"
path = "/account/delete"
max_age = "5m"

[[route]]
name = "api"
path = "/api/**"
max_age = "5m"
browser = "challenge"

[[route]]
name = "app"
path = "/**"
"#;

/// A gate whose public URL is its own address (no proxy in between).
async fn gate(issuer: &TestIssuer, keys: &[&str], dir: &Dir) -> Gate {
    let port = free_port();
    let public = format!("http://127.0.0.1:{port}");
    let bind = format!("127.0.0.1:{port}");
    let policy = write(dir, "reauth.toml", POLICY.as_bytes());
    let mut args = vec![
        "--bind",
        &bind,
        "--config",
        &policy,
        "--stepup-client-id",
        "test-client",
        "--public-url",
        &public,
    ];
    for k in keys {
        args.extend(["--cookie-key-file", k]);
    }
    serve(issuer, &args).await
}

struct Reply {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: String,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(|v| v.to_str().unwrap())
    }
    /// `name=value` of the `Set-Cookie` named `name` (a prefix for the
    /// pending cookie, whose name holds the state), and its attributes.
    fn set_cookie(&self, name: &str) -> Option<(String, String)> {
        self.headers
            .get_all("set-cookie")
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .find(|c| c.starts_with(name))
            .map(|c| {
                let (pair, attrs) = c.split_once(';').unwrap_or((&c, ""));
                (pair.to_owned(), attrs.to_owned())
            })
    }
}

async fn send(method: &str, url: &str, headers: &[(&str, &str)]) -> Reply {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let mut req = client.request(method.parse().unwrap(), url);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let res = req.send().await.unwrap();
    Reply {
        status: res.status().as_u16(),
        headers: res.headers().clone(),
        body: res.text().await.unwrap_or_default(),
    }
}

/// The `/verify` subrequest nginx's guide makes for `method uri`.
async fn verify(gate: &Gate, method: &str, uri: &str, extra: &[(&str, &str)]) -> Reply {
    let mut headers = vec![
        ("x-original-method", method),
        ("x-original-uri", uri),
        ("x-original-host", "127.0.0.1"),
    ];
    headers.extend_from_slice(extra);
    send("GET", &format!("{}/verify", gate.base), &headers).await
}

/// Follows the gate's redirect to the issuer and the issuer's back to
/// `/reauth/callback` with the pending cookie: the callback's answer.
async fn round_trip(gate: &Gate, start: &Reply) -> Reply {
    assert_eq!(start.status, 302, "{}", start.body);
    let (pending, attrs) = start
        .set_cookie("reauth-stepup.")
        .expect("a pending cookie");
    assert!(
        attrs.contains("HttpOnly") && attrs.contains("SameSite=Lax"),
        "{attrs}"
    );
    let at_issuer = send("GET", start.header("location").unwrap(), &[]).await;
    assert_eq!(at_issuer.status, 302, "{}", at_issuer.body);
    let callback = at_issuer.header("location").unwrap().to_owned();
    assert!(
        callback.starts_with(&format!("{}/reauth/callback?", gate.base)),
        "{callback}"
    );
    send("GET", &callback, &[("cookie", &pending), ("accept", HTML)]).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stale_browser_session_steps_up_through_the_gate() {
    let issuer = TestIssuer::start().await;
    let d = dir();
    // A random key may end in a newline byte: it is part of the key.
    let mut raw = [7u8; 32];
    raw[31] = b'\n';
    let key = write(&d, "key", &raw);
    let gate = gate(&issuer, &[&key], &d).await;

    // No session: a browser navigation is sent to /reauth/start with the
    // page it asked for; an API client gets the challenge.
    let r = verify(&gate, "GET", "/account/delete?x=1", &[("accept", HTML)]).await;
    let start = format!("{}/reauth/start?rd=%2Faccount%2Fdelete%3Fx%3D1", gate.base);
    assert_eq!(r.status, 302, "{}", r.body);
    assert_eq!(r.header("location"), Some(start.as_str()));
    assert_eq!(r.header("x-reauth-redirect"), Some(start.as_str()));
    assert_eq!(r.header("cache-control"), Some("no-store"));
    let api = verify(
        &gate,
        "GET",
        "/account/delete",
        &[("accept", "application/json")],
    )
    .await;
    assert_eq!(api.status, 401);
    assert!(
        api.header("www-authenticate")
            .unwrap()
            .starts_with("Bearer")
    );
    // nginx asks for the redirect as a header on the 401.
    let r = verify(
        &gate,
        "GET",
        "/account/delete",
        &[("accept", HTML), ("x-reauth-redirect-as", "header")],
    )
    .await;
    assert_eq!(r.status, 401);
    assert!(r.header("www-authenticate").is_some());
    assert!(
        r.header("x-reauth-redirect")
            .unwrap()
            .ends_with("/reauth/start?rd=%2Faccount%2Fdelete")
    );
    // A route that says browser = "challenge": the 401 even for a browser.
    let r = verify(&gate, "GET", "/api/x", &[("accept", HTML)]).await;
    assert_eq!(r.status, 401);
    assert_eq!(r.header("location"), None);

    // An hour-old login: the session cookie, stale for the 5 min route.
    let stale = issuer.token().auth_time_ago(3600).sign();
    let cookie = format!("{SESSION}={stale}");
    let r = verify(&gate, "GET", "/home", &[("cookie", &cookie)]).await;
    assert_eq!(r.status, 200, "any login will do on /home: {}", r.body);
    assert_eq!(r.header("x-reauth-subject"), Some("user-1"));
    let r = verify(
        &gate,
        "GET",
        "/account/delete",
        &[("cookie", &cookie), ("accept", HTML)],
    )
    .await;
    assert_eq!(r.status, 302);

    // /reauth/start: to the issuer with the route's demands, as a step-up
    // of the session's user.
    let s = send("GET", &start, &[("cookie", &cookie), ("accept", HTML)]).await;
    assert_eq!(s.status, 302, "{}", s.body);
    let to = s.header("location").unwrap().to_owned();
    assert!(to.starts_with(issuer.issuer()), "{to}");
    for part in [
        "max_age=300",
        "prompt=login",
        "code_challenge_method=S256",
        "login_hint=user-1",
        "state=",
        "nonce=",
    ] {
        assert!(to.contains(part), "{part} in {to}");
    }
    let done = round_trip(&gate, &s).await;
    assert_eq!(done.status, 302, "{}", done.body);
    assert_eq!(done.header("location"), Some("/account/delete?x=1"));
    let (session, attrs) = done
        .set_cookie(&format!("{SESSION}="))
        .expect("the session cookie");
    for a in ["HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(attrs.contains(a), "{a} in {attrs}");
    }
    // The new session passes the route.
    let r = verify(
        &gate,
        "GET",
        "/account/delete",
        &[("cookie", &session), ("accept", HTML)],
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.header("x-reauth-reauthentication"), Some("fresh"));

    // A state change with the cookie: same-origin only.
    let own = gate.base.as_str();
    let ok = verify(
        &gate,
        "POST",
        "/account/delete",
        &[("cookie", &session), ("origin", own)],
    )
    .await;
    assert_eq!(ok.status, 200, "{}", ok.body);
    let ok = verify(
        &gate,
        "POST",
        "/account/delete",
        &[("cookie", &session), ("sec-fetch-site", "same-origin")],
    )
    .await;
    assert_eq!(ok.status, 200, "{}", ok.body);
    for forged in [
        vec![("origin", "https://evil.example")],
        vec![("sec-fetch-site", "cross-site"), ("origin", own)],
        vec![("sec-fetch-site", "same-site")],
        // Neither header: the proxy may drop them; refused, not waved through.
        vec![],
    ] {
        let mut h = vec![("cookie", session.as_str())];
        h.extend(forged.iter().copied());
        let r = verify(&gate, "POST", "/account/delete", &h).await;
        assert_eq!(r.status, 403, "{forged:?}: {}", r.body);
        assert_eq!(r.header("x-reauth-error"), Some("cross_site_request"));
    }
    // A bearer token is never a cookie session: no cross-site rule, no redirect.
    let r = verify(
        &gate,
        "POST",
        "/account/delete",
        &[
            ("authorization", &format!("Bearer {stale}")),
            ("origin", "https://evil.example"),
            ("accept", HTML),
        ],
    )
    .await;
    assert_eq!(r.status, 401, "{}", r.body);

    // A browser that sends `Authorization: Basic` authenticates itself:
    // the 401, not a redirect.
    let r = verify(
        &gate,
        "GET",
        "/account/delete",
        &[("authorization", "Basic dXNlcjpwdw=="), ("accept", HTML)],
    )
    .await;
    assert_eq!(r.status, 401, "{}", r.body);
    // A WebSocket opened by a same-site sibling with the cookie: refused;
    // from the app's own origin: passes.
    let ws = |site: &'static str| {
        [
            ("cookie", session.clone()),
            ("upgrade", "websocket".to_owned()),
            ("sec-fetch-site", site.to_owned()),
        ]
    };
    let h = ws("same-site");
    let h: Vec<(&str, &str)> = h.iter().map(|(k, v)| (*k, v.as_str())).collect();
    assert_eq!(verify(&gate, "GET", "/home", &h).await.status, 403);
    let h = ws("same-origin");
    let h: Vec<(&str, &str)> = h.iter().map(|(k, v)| (*k, v.as_str())).collect();
    assert_eq!(verify(&gate, "GET", "/home", &h).await.status, 200);
    // A location's overrides (`/verify?max_age=60`) travel to the start
    // and reach the issuer: no loop through a login the route would refuse.
    let r = send(
        "GET",
        &format!("{}/verify?max_age=60", gate.base),
        &[
            ("x-original-method", "GET"),
            ("x-original-uri", "/home"),
            ("accept", HTML),
            ("cookie", &cookie),
        ],
    )
    .await;
    assert_eq!(r.status, 302, "{}", r.body);
    let start_with = r.header("location").unwrap().to_owned();
    assert!(
        start_with.ends_with("/reauth/start?rd=%2Fhome&max_age=60"),
        "{start_with}"
    );
    let s = send("GET", &start_with, &[("cookie", &cookie)]).await;
    assert!(
        s.header("location").unwrap().contains("max_age=60"),
        "{:?}",
        s.header("location")
    );
    // Overrides only tighten, and a typo is refused rather than dropped.
    let r = send(
        "GET",
        &format!(
            "{}/reauth/start?rd=%2Faccount%2Fdelete&max_age=1h",
            gate.base
        ),
        &[],
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.body);
    let r = send(
        "GET",
        &format!("{}/reauth/start?rd=%2Fhome&max_agee=1m", gate.base),
        &[],
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.body);

    // Sign out: same-origin POST only; the session cookie is removed.
    let r = send(
        "POST",
        &format!("{}/reauth/sign-out", gate.base),
        &[("origin", "https://evil.example")],
    )
    .await;
    assert_eq!(r.status, 403);
    let r = send(
        "POST",
        &format!("{}/reauth/sign-out", gate.base),
        &[("origin", own)],
    )
    .await;
    assert_eq!(r.status, 303);
    assert_eq!(r.header("location"), Some("/"));
    assert!(
        r.set_cookie(&format!("{SESSION}="))
            .unwrap()
            .1
            .contains("Max-Age=0")
    );
    let r = send("GET", &format!("{}/reauth/sign-out", gate.base), &[]).await;
    assert_eq!(r.status, 405);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_callback_refuses_replays_old_logins_and_foreign_places() {
    let issuer = TestIssuer::start().await;
    let d = dir();
    let key = write(&d, "key", &[7u8; 32]);
    let gate = gate(&issuer, &[&key], &d).await;
    let stale = issuer.token().auth_time_ago(3600).sign();
    let cookie = format!("{SESSION}={stale}");
    let start = |rd: &str| format!("{}/reauth/start?rd={rd}", gate.base);

    // A replayed callback: the second use is refused.
    let s = send("GET", &start("%2Faccount%2Fdelete"), &[("cookie", &cookie)]).await;
    let (pending, _) = s.set_cookie("reauth-stepup.").unwrap();
    let at_issuer = send("GET", s.header("location").unwrap(), &[]).await;
    let callback = at_issuer.header("location").unwrap().to_owned();
    let first = send("GET", &callback, &[("cookie", &pending)]).await;
    assert_eq!(first.status, 302, "{}", first.body);
    let again = send("GET", &callback, &[("cookie", &pending), ("accept", HTML)]).await;
    assert_eq!(again.status, 400, "{}", again.body);
    assert!(again.body.contains("invalid_state"), "{}", again.body);

    // The issuer hands back an older login, not a new one: an hour old
    // (too old for the route) or two minutes (within max_age, but before
    // the step-up began): refused, no session.
    for (ago, code) in [
        (3600, "authentication_too_old"),
        (120, "reauthentication_not_proven"),
    ] {
        issuer.set_login(TestLogin::user("user-1").auth_time_ago(ago));
        let s = send("GET", &start("%2Faccount%2Fdelete"), &[("cookie", &cookie)]).await;
        let r = round_trip(&gate, &s).await;
        assert_eq!(r.status, 403, "{}", r.body);
        assert!(r.body.contains(code), "{code}: {}", r.body);
        assert!(
            r.set_cookie(&format!("{SESSION}=")).is_none(),
            "no session from an old login"
        );
    }

    // Another user logs in at the issuer: 403, the session stays.
    issuer.set_login(TestLogin::user("mallory"));
    let s = send("GET", &start("%2Faccount%2Fdelete"), &[("cookie", &cookie)]).await;
    let r = round_trip(&gate, &s).await;
    assert_eq!(r.status, 403, "{}", r.body);
    assert!(r.body.contains("subject_mismatch"), "{}", r.body);

    // rd is a path of this origin, given once.
    for rd in [
        "https%3A%2F%2Fevil.example%2F",
        "%2F%2Fevil.example",
        "%2F%5Cevil.example",
        "account",
    ] {
        let r = send("GET", &start(rd), &[]).await;
        assert_eq!(r.status, 400, "{rd}: {}", r.body);
        assert!(r.body.contains("invalid_return_to"), "{rd}: {}", r.body);
    }
    let r = send(
        "GET",
        &format!("{}/reauth/start?rd=/a&rd=/b", gate.base),
        &[],
    )
    .await;
    assert_eq!(r.status, 400);
    let r = send(
        "GET",
        &format!("{}/reauth/sign-in?rd=https://evil.example", gate.base),
        &[],
    )
    .await;
    assert_eq!(r.status, 400);
    // A public route's start is a plain sign-in (no max_age demanded).
    let r = send("GET", &start("%2Fstatic%2Fa.css"), &[]).await;
    assert_eq!(r.status, 302);
    assert!(!r.header("location").unwrap().contains("max_age"));
    let r = send("GET", &format!("{}/reauth/nothing", gate.base), &[]).await;
    assert_eq!(r.status, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotated_cookie_key_still_opens_step_ups_in_flight() {
    let issuer = TestIssuer::start().await;
    let d = dir();
    let old = write(&d, "old", &[1u8; 32]);
    let new = write(&d, "new", &[2u8; 48]);
    let cookie = format!("{SESSION}={}", issuer.token().auth_time_ago(3600).sign());
    let policy = write(&d, "reauth.toml", POLICY.as_bytes());
    let mut gate = gate(&issuer, &[&old], &d).await;
    let (public, bind) = (
        gate.base.clone(),
        gate.base.trim_start_matches("http://").to_owned(),
    );
    let start = format!("{public}/reauth/start?rd=%2Faccount%2Fdelete");
    // Two step-ups begin under the old key...
    let first = send("GET", &start, &[("cookie", &cookie)]).await;
    let second = send("GET", &start, &[("cookie", &cookie)]).await;
    // ...and the gate restarts with keys (new, old), then (new) alone.
    for (keys, opens) in [
        (vec![new.as_str(), old.as_str()], &first),
        (vec![new.as_str()], &second),
    ] {
        gate.child.kill().await.unwrap();
        let _ = gate.child.wait().await;
        let mut args = vec![
            "--bind",
            &bind,
            "--config",
            &policy,
            "--stepup-client-id",
            "test-client",
            "--public-url",
            &public,
        ];
        for k in &keys {
            args.extend(["--cookie-key-file", k]);
        }
        gate = serve(&issuer, &args).await;
        let r = round_trip(&gate, opens).await;
        if keys.len() == 2 {
            assert_eq!(r.status, 302, "the old key still opens: {}", r.body);
        } else {
            assert_eq!(r.status, 400, "without the old key: {}", r.body);
            assert!(r.body.contains("invalid_state"), "{}", r.body);
        }
    }
}

/// `reauth serve ARGS` exits 2 and logs `needle`.
async fn refuses(issuer: &TestIssuer, args: &[&str], needle: &str) {
    let out = tokio::process::Command::new(support::BIN)
        .arg("serve")
        .args(["--issuer", issuer.issuer(), "--bind", "127.0.0.1:0"])
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .await
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
    assert!(
        err.contains(needle),
        "{args:?}: expected {needle:?} in {err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settings_that_cannot_work_stop_the_gate() {
    let issuer = TestIssuer::start().await;
    let d = dir();
    let key = write(&d, "key", &[7u8; 32]);
    let short = write(&d, "short", b"0123456789abcdef0123456789abcd\n");
    let stepup_policy = write(
        &d,
        "s.toml",
        b"[[route]]\nname = \"a\"\npath = \"/**\"\nbrowser = \"step-up\"\n",
    );
    let base = ["--audience", "test-client"];
    let with = |extra: &[&str]| -> Vec<String> {
        base.iter().chain(extra).map(|s| s.to_string()).collect()
    };
    let cases: Vec<(Vec<String>, &str)> = vec![
        (
            with(&[
                "--stepup-client-id",
                "test-client",
                "--cookie-key-file",
                &key,
            ]),
            "--public-url",
        ),
        (
            with(&[
                "--stepup-client-id",
                "test-client",
                "--public-url",
                "http://127.0.0.1:1",
            ]),
            "--cookie-key-file",
        ),
        (
            with(&[
                "--stepup-client-id",
                "test-client",
                "--public-url",
                "http://127.0.0.1:1",
                "--cookie-key-file",
                &short,
            ]),
            "at least 32",
        ),
        (
            with(&[
                "--stepup-client-id",
                "test-client",
                "--public-url",
                "http://app.example",
                "--cookie-key-file",
                &key,
            ]),
            "https",
        ),
        (
            with(&[
                "--stepup-client-id",
                "test-client",
                "--public-url",
                "https://app.example/app",
                "--cookie-key-file",
                &key,
            ]),
            "origin only",
        ),
        (
            with(&[
                "--stepup-client-id",
                "other-client",
                "--public-url",
                "https://app.example",
                "--cookie-key-file",
                &key,
            ]),
            "--audience other-client",
        ),
        (
            with(&[
                "--stepup-client-id",
                "test-client",
                "--public-url",
                "https://app.example",
                "--cookie-key-file",
                &key,
                "--cookie-key-file",
                &key,
                "--cookie-key-file",
                &key,
            ]),
            "at most two",
        ),
        // The policy asks for step-up; the gate has no client.
        (with(&["--config", &stepup_policy]), "browser = \"step-up\""),
    ];
    for (args, needle) in &cases {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        refuses(&issuer, &args, needle).await;
    }
    // clap: the companions need the client id (--public-url does not: it
    // is also the DPoP proofs' URL and the RFC 9728 resource).
    refuses(
        &issuer,
        &["--audience", "test-client", "--cookie-key-file", &key],
        "--stepup-client-id",
    )
    .await;
}
