//! The README's proxy guides, run for real: each snippet is read from
//! README.md at test time and run with the real proxy (nginx, Caddy,
//! HAProxy from Debian; `.ci/run` installs them) in front of `reauth serve`
//! (with the README's policy file) and a small upstream, all on loopback.
//!
//! For each proxy: keys unavailable → 503; fresh → 200 with identity
//! headers; stale → 401 with exactly one RFC 9470 challenge; cannot
//! re-authenticate → 403; forged `X-Reauth-*` never reach the upstream; a
//! 1 MB body reaches the upstream and never the gate (the gate refuses a
//! request with a body); gate down → not 2xx. And browser step-up through
//! each proxy (`reauth serve --stepup-client-id`, the README's command line)
//! against a real OpenID provider (npm `oidc-provider`): a stale session is
//! sent to the provider and back to its page, an older login is refused, a
//! cross-site POST is 403, API clients keep the challenge.

mod support;

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use axum::body::Bytes;
use axum::http::HeaderMap;
use reauth::testing::{Behavior, TestIssuer};
use serde_json::{Value, json};
use support::{Gate, free_port, readme_block, serve};
use tokio::process::{Child, Command};

/// The README's addresses (gate 127.0.0.1:8080, app 127.0.0.1:3000, proxy
/// port 8000) replaced by this test's.
fn localize(snippet: &str, ports: &Ports) -> String {
    let out = snippet
        .replace("127.0.0.1:8080", &format!("127.0.0.1:{}", ports.gate))
        .replace("127.0.0.1:3000", &format!("127.0.0.1:{}", ports.app))
        .replace("listen 8000", &format!("listen 127.0.0.1:{}", ports.proxy))
        .replace(":8000 {", &format!("http://127.0.0.1:{} {{", ports.proxy))
        .replace("bind :8000", &format!("bind 127.0.0.1:{}", ports.proxy));
    assert!(
        !out.contains("8080") && !out.contains("3000") && !out.contains("8000"),
        "{out}"
    );
    out
}

#[derive(Clone, Copy)]
struct Ports {
    gate: u16,
    app: u16,
    proxy: u16,
}

/// Needs the proxy binary; a missing one fails with the way to install it,
/// unless REAUTH_SKIP_PROXIES=1 (refused under CI), which says so loudly.
fn available(bin: &str) -> bool {
    if std::env::var("REAUTH_SKIP_PROXIES").is_ok_and(|v| v == "1") {
        use std::io::Write;
        assert!(
            std::env::var_os("CI").is_none(),
            "REAUTH_SKIP_PROXIES=1 under CI: CI must run the proxy tests"
        );
        let _ = writeln!(
            std::io::stderr(),
            "!!! SKIPPED the {bin} guide test: REAUTH_SKIP_PROXIES=1 !!!"
        );
        return false;
    }
    let found = std::process::Command::new("sh")
        .args(["-c", &format!("command -v {bin}")])
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        found,
        "{bin} is not installed; the README's proxy guides are tested with it \
         (Debian/Ubuntu: apt-get install nginx caddy haproxy), or skip with REAUTH_SKIP_PROXIES=1"
    );
    true
}

/// The upstream app: answers 200 with what it received (headers and body
/// length) as JSON.
async fn upstream(port: u16) {
    async fn echo(headers: HeaderMap, body: Bytes) -> axum::Json<Value> {
        let seen: serde_json::Map<String, Value> = headers
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_owned(),
                    json!(v.to_str().unwrap_or("<bytes>")),
                )
            })
            .collect();
        axum::Json(json!({"headers": seen, "body_len": body.len()}))
    }
    let app = axum::Router::new()
        .fallback(echo)
        .layer(axum::extract::DefaultBodyLimit::max(8 << 20));
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
}

struct Proxy {
    child: Child,
    _dir: TempDir,
}

struct TempDir(PathBuf);
impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn temp_dir(name: &str) -> TempDir {
    let dir = std::env::temp_dir().join(format!(
        "reauth-{name}-{}-{}",
        std::process::id(),
        free_port()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    TempDir(dir)
}

async fn wait_port(port: u16, what: &str, child: &mut Child) {
    for _ in 0..300 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return;
        }
        if let Ok(Some(status)) = child.try_wait() {
            let mut err = String::new();
            if let Some(mut e) = child.stderr.take() {
                use tokio::io::AsyncReadExt;
                let _ = e.read_to_string(&mut err).await;
            }
            panic!("{what} exited ({status}):\n{err}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("{what} did not listen on {port}");
}

fn spawn(cmd: &mut Command) -> Child {
    cmd.stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap()
}

async fn nginx(ports: &Ports) -> Proxy {
    nginx_with(ports, |conf| conf).await
}

/// nginx with the README's block, `edit`ed (e.g. the gate on a socket).
async fn nginx_with(ports: &Ports, edit: impl Fn(String) -> String) -> Proxy {
    // Without the module, nginx's own `unknown directive` would be the
    // only message: say what to install.
    if let Err(why) = support::preflight::nginx_headers_more() {
        panic!(
            "{why}: the README's nginx guide needs it \
             (Debian/Ubuntu: apt-get install libnginx-mod-http-headers-more-filter), \
             or skip the proxy tests with REAUTH_SKIP_PROXIES=1"
        );
    }
    let dir = temp_dir("nginx");
    let d = dir.0.display();
    // The wrapper a packaged nginx has in /etc/nginx/nginx.conf; the
    // README's block is what goes inside `http { }`.
    let conf = format!(
        "include /etc/nginx/modules-enabled/*.conf;\nmaster_process off;\npid {d}/nginx.pid;\nerror_log {d}/error.log warn;\n\
         events {{ worker_connections 1024; }}\nhttp {{\n access_log off;\n\
         client_body_temp_path {d}/body;\n proxy_temp_path {d}/proxy;\n\
         fastcgi_temp_path {d}/fastcgi;\n uwsgi_temp_path {d}/uwsgi;\n scgi_temp_path {d}/scgi;\n\
         {}\n}}\n",
        edit(localize(&readme_block("nginx"), ports))
    );
    std::fs::write(dir.0.join("nginx.conf"), conf).unwrap();
    let mut child = spawn(
        // Debian's prefix (its modules-enabled files name modules relative to it).
        Command::new("nginx")
            .args(["-p", "/usr/share/nginx/", "-e"])
            .arg(dir.0.join("error.log"))
            .arg("-c")
            .arg(dir.0.join("nginx.conf"))
            .args(["-g", "daemon off;"]),
    );
    wait_port(ports.proxy, "nginx", &mut child).await;
    Proxy { child, _dir: dir }
}

async fn caddy(ports: &Ports) -> Proxy {
    let dir = temp_dir("caddy");
    // Global options for a test run (no admin API, no certificates).
    let conf = format!(
        "{{\n\tadmin off\n\tauto_https off\n}}\n\n{}",
        localize(&readme_block("caddyfile"), ports)
    );
    let file = dir.0.join("Caddyfile");
    std::fs::write(&file, conf).unwrap();
    let mut child = spawn(
        Command::new("caddy")
            .args(["run", "--adapter", "caddyfile", "--config"])
            .arg(&file)
            .env("HOME", &dir.0)
            .env("XDG_DATA_HOME", &dir.0)
            .env("XDG_CONFIG_HOME", &dir.0),
    );
    wait_port(ports.proxy, "caddy", &mut child).await;
    Proxy { child, _dir: dir }
}

async fn haproxy(ports: &Ports) -> Proxy {
    haproxy_with(ports, |lua| lua).await
}

/// HAProxy with the README's blocks, the Lua one `edit`ed (e.g. the gate
/// on a socket).
async fn haproxy_with(ports: &Ports, edit: impl Fn(String) -> String) -> Proxy {
    let dir = temp_dir("haproxy");
    let lua = dir.0.join("reauth.lua");
    std::fs::write(&lua, edit(localize(&readme_block("lua"), ports))).unwrap();
    let cfg = localize(&readme_block("haproxy"), ports)
        .replace("/etc/haproxy/reauth.lua", lua.to_str().unwrap());
    let file = dir.0.join("haproxy.cfg");
    std::fs::write(&file, cfg).unwrap();
    let check = std::process::Command::new("haproxy")
        .args(["-c", "-f"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "haproxy -c: {}",
        String::from_utf8_lossy(&check.stderr)
    );
    let mut child = spawn(Command::new("haproxy").args(["-db", "-f"]).arg(&file));
    wait_port(ports.proxy, "haproxy", &mut child).await;
    Proxy { child, _dir: dir }
}

struct Answer {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: String,
}

impl Answer {
    fn upstream(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|_| panic!("not the upstream's answer: {} {}", self.status, self.body))
    }
    fn seen(&self, header: &str) -> Option<String> {
        self.upstream()["headers"][header]
            .as_str()
            .map(str::to_owned)
    }
}

async fn call(
    ports: &Ports,
    method: &str,
    path: &str,
    token: Option<&str>,
    headers: &[(&str, &str)],
    body: Option<Vec<u8>>,
) -> Answer {
    let client = reqwest::Client::new();
    let mut req = client.request(
        method.parse().unwrap(),
        format!("http://127.0.0.1:{}{path}", ports.proxy),
    );
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    if let Some(b) = body {
        req = req.body(b);
    }
    let res = req.send().await.unwrap();
    let (status, headers) = (res.status().as_u16(), res.headers().clone());
    // A proxy may reset the connection mid-body (e.g. when the gate is down).
    let body = res
        .text()
        .await
        .unwrap_or_else(|e| format!("<body unreadable: {e}>"));
    Answer {
        status,
        headers,
        body,
    }
}

async fn guide_holds(
    start: fn(&Ports) -> std::pin::Pin<Box<dyn std::future::Future<Output = Proxy> + '_>>,
) {
    let issuer = TestIssuer::start().await;
    issuer.set_jwks_behavior(Behavior::Status(500));
    let policy = temp_dir("policy");
    let policy_file = policy.0.join("reauth.toml");
    std::fs::write(&policy_file, readme_block("toml reauth.toml")).unwrap();
    let mut gate: Gate = serve(
        &issuer,
        &[
            "--config",
            policy_file.to_str().unwrap(),
            "--jwks-cooldown",
            "1s",
        ],
    )
    .await;
    let bind = gate.base.trim_start_matches("http://").to_owned();
    let gate_port: u16 = bind.rsplit(':').next().unwrap().parse().unwrap();
    let ports = Ports {
        gate: gate_port,
        app: free_port(),
        proxy: free_port(),
    };
    upstream(ports.app).await;
    let mut proxy = start(&ports).await;
    let fresh = issuer
        .token()
        .auth_time_ago(30)
        .claim("amr", json!(["pwd", "mfa"]))
        .sign();

    // Keys unavailable: 503, not 500 or the proxy's error page.
    let r = call(&ports, "GET", "/home", Some(&fresh), &[], None).await;
    assert_eq!(
        r.status,
        503,
        "keys unavailable: {}\ngate: {:?}",
        r.body,
        gate.logs.lock().unwrap()
    );
    assert!(r.body.contains("keys_unavailable"), "{}", r.body);
    assert_eq!(
        r.headers.get("retry-after").map(|v| v.to_str().unwrap()),
        Some("5")
    );
    issuer.set_jwks_behavior(Behavior::Normal);
    let ready = format!("http://{bind}/readyz");
    for _ in 0..100 {
        if reqwest::get(&ready).await.unwrap().status() == 200 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // Fresh: 200 from the upstream, with the gate's identity.
    let r = call(&ports, "GET", "/home", Some(&fresh), &[], None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.seen("x-reauth-subject").as_deref(), Some("user-1"));
    assert_eq!(
        r.seen("x-reauth-reauthentication").as_deref(),
        Some("fresh")
    );
    assert_eq!(r.seen("x-reauth-route").as_deref(), Some("app"));
    assert!(
        r.seen("authorization").is_some(),
        "the app still gets the token"
    );

    // Public route: no token needed, and no identity reaches the app
    // (not even a proxy's placeholder text), only the route.
    let r = call(&ports, "GET", "/static/app.js", None, &[], None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let seen = r.upstream()["headers"].as_object().unwrap().clone();
    let identity: Vec<_> = seen
        .keys()
        .filter(|k| k.starts_with("x-reauth-") && *k != "x-reauth-route")
        .collect();
    assert!(identity.is_empty(), "{seen:?}");

    // A method override where routes are chosen by method: refused.
    let r = call(
        &ports,
        "POST",
        "/home",
        Some(&fresh),
        &[("X-HTTP-Method-Override", "DELETE")],
        None,
    )
    .await;
    assert_eq!(r.status, 403, "{}", r.body);

    // Stale: 401 with exactly one RFC 9470 challenge.
    let stale = issuer.token().auth_time_ago(3600).sign();
    let r = call(&ports, "GET", "/home", Some(&stale), &[], None).await;
    assert_eq!(r.status, 401, "{}", r.body);
    let challenges: Vec<&str> = r
        .headers
        .get_all("www-authenticate")
        .iter()
        .map(|v| v.to_str().unwrap())
        .collect();
    assert_eq!(challenges.len(), 1, "{challenges:?}");
    assert!(
        challenges[0].starts_with("Bearer error=\"insufficient_user_authentication\"")
            && challenges[0].matches("max_age=").count() == 1
            && challenges[0].contains("max_age=\"900\""),
        "{challenges:?}"
    );
    assert!(r.body.contains("authentication_too_old"), "{}", r.body);

    // Cannot re-authenticate, on a route that denies them: 403.
    let cannot = issuer
        .token()
        .auth_time_ago(3600)
        .can_reauthenticate(false)
        .sign();
    let r = call(&ports, "GET", "/home", Some(&cannot), &[], None).await;
    assert_eq!(r.status, 403, "{}", r.body);
    assert!(
        r.body.contains("reauthentication_unavailable"),
        "{}",
        r.body
    );

    // Forged identity headers never reach the upstream (the token has no
    // sid, so the gate sends no X-Reauth-Session to overwrite it with).
    let forged = [
        ("X-Reauth-Subject", "mallory"),
        ("X-Reauth-Session", "forged-session"),
        ("X-Reauth-Auth-Time", "1"),
        ("X-Reauth-Route", "static"),
        ("X-Reauth-Anything", "y"),
    ];
    let r = call(&ports, "GET", "/home", Some(&fresh), &forged, None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.seen("x-reauth-subject").as_deref(), Some("user-1"));
    assert_eq!(r.seen("x-reauth-route").as_deref(), Some("app"));
    assert_eq!(r.seen("x-reauth-session"), None);
    assert_eq!(r.seen("x-reauth-anything"), None);
    assert_ne!(r.seen("x-reauth-auth-time").as_deref(), Some("1"));
    // Forged original-request headers cannot pick a laxer route.
    let r = call(
        &ports,
        "GET",
        "/home",
        Some(&stale),
        &[
            ("X-Original-URI", "/static/x"),
            ("X-Forwarded-Uri", "/static/x"),
        ],
        None,
    )
    .await;
    assert!(
        r.status == 401 || r.status == 403,
        "{} {}",
        r.status,
        r.body
    );

    // A 1 MB body reaches the upstream, not the gate (which would refuse it).
    let r = call(
        &ports,
        "POST",
        "/account/delete",
        Some(&fresh),
        &[("Content-Type", "application/octet-stream")],
        Some(vec![b'x'; 1_000_000]),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.upstream()["body_len"], 1_000_000);
    assert_eq!(r.seen("x-reauth-route").as_deref(), Some("delete-account"));

    // Gate down: never the upstream's 2xx.
    gate.child.kill().await.unwrap();
    let _ = gate.child.wait().await;
    let r = call(&ports, "GET", "/home", Some(&fresh), &[], None).await;
    assert!(
        !(200..300).contains(&r.status),
        "gate down answered {}: {}",
        r.status,
        r.body
    );
    let _ = proxy.child.kill().await;
}

#[tokio::test]
async fn the_nginx_guide_holds() {
    if available("nginx") {
        guide_holds(|p| Box::pin(nginx(p))).await;
    }
}

#[tokio::test]
async fn the_caddy_guide_holds() {
    if available("caddy") {
        guide_holds(|p| Box::pin(caddy(p))).await;
    }
}

#[tokio::test]
async fn the_haproxy_guide_holds() {
    if available("haproxy") {
        guide_holds(|p| Box::pin(haproxy(p))).await;
    }
}

/// DPoP through a guide: the proof and the original request reach the
/// gate (its URL from the forwarded scheme and host), and the nonce the
/// gate demands reaches the client.
async fn dpop_through(
    start: fn(&Ports) -> std::pin::Pin<Box<dyn std::future::Future<Output = Proxy> + '_>>,
) {
    let issuer = TestIssuer::start().await;
    let keys = temp_dir("dpop");
    let nonce_key = keys.0.join("nonce-key");
    std::fs::write(&nonce_key, [5u8; 32]).unwrap();
    let gate: Gate = serve(
        &issuer,
        &["--dpop-nonce-key-file", nonce_key.to_str().unwrap()],
    )
    .await;
    let bind = gate.base.trim_start_matches("http://").to_owned();
    let ports = Ports {
        gate: bind.rsplit(':').next().unwrap().parse().unwrap(),
        app: free_port(),
        proxy: free_port(),
    };
    upstream(ports.app).await;
    let mut proxy = start(&ports).await;
    let key = reauth::testing::DpopKey::es256();
    let token = issuer.token().claim("cnf", key.cnf()).sign();
    let url = format!("http://127.0.0.1:{}/home", ports.proxy);
    let auth = format!("DPoP {token}");
    let first = key.proof("GET", &url, &token).sign();
    let r = call(
        &ports,
        "GET",
        "/home",
        None,
        &[("authorization", &auth), ("dpop", &first)],
        None,
    )
    .await;
    assert_eq!(r.status, 401, "{}", r.body);
    let challenge = r
        .headers
        .get("www-authenticate")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        challenge.starts_with("DPoP error=\"use_dpop_nonce\""),
        "{challenge}"
    );
    let nonce = r
        .headers
        .get("dpop-nonce")
        .expect("the gate's DPoP-Nonce reaches the client");
    let proof = key
        .proof("GET", &url, &token)
        .claim("nonce", json!(nonce.to_str().unwrap()))
        .sign();
    let r = call(
        &ports,
        "GET",
        "/home",
        None,
        &[("authorization", &auth), ("dpop", &proof)],
        None,
    )
    .await;
    assert_eq!(
        r.status,
        200,
        "{}\ngate: {:?}",
        r.body,
        gate.logs.lock().unwrap()
    );
    // The same proof again is a replay.
    let r = call(
        &ports,
        "GET",
        "/home",
        None,
        &[("authorization", &auth), ("dpop", &proof)],
        None,
    )
    .await;
    assert_eq!(r.status, 401);
    let _ = proxy.child.kill().await;
}

#[tokio::test]
async fn dpop_works_through_the_nginx_guide() {
    if available("nginx") {
        dpop_through(|p| Box::pin(nginx(p))).await;
    }
}

#[tokio::test]
async fn dpop_works_through_the_caddy_guide() {
    if available("caddy") {
        dpop_through(|p| Box::pin(caddy(p))).await;
    }
}

#[tokio::test]
async fn dpop_works_through_the_haproxy_guide() {
    if available("haproxy") {
        dpop_through(|p| Box::pin(haproxy(p))).await;
    }
}

#[test]
fn the_readme_policy_file_is_valid() {
    let policy = reauth::gate::Policy::parse(&readme_block("toml reauth.toml")).unwrap();
    assert!(policy.routes().len() >= 4);
}

/// The README's `reauth serve ... --stepup-client-id` command line (the
/// "Any app behind the gate" block), its example values replaced by this
/// test's: the flags a reader pastes are the ones that run.
fn readme_stepup_args(values: &[(&str, &str)]) -> Vec<String> {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let block = readme
        .split("```sh\n")
        .skip(1)
        .map(|b| b.split("```").next().unwrap())
        .find(|b| b.contains("--stepup-client-id"))
        .expect("README has the gate's step-up command line");
    let line = block
        .replace("\\\n", " ")
        .lines()
        .find(|l| l.trim_start().starts_with("reauth serve"))
        .unwrap()
        .to_owned();
    line.split_whitespace()
        .skip(2)
        .map(|word| {
            values
                .iter()
                .find(|(from, _)| *from == word)
                .map_or(word.to_owned(), |(_, to)| (*to).to_owned())
        })
        .inspect(|word| assert!(!word.contains("example.com"), "{word} not replaced"))
        .collect()
}

fn unix_now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// The README's gate with browser step-up behind a proxy, a real OpenID
/// provider its issuer (client `gated-app`, confidential), and the
/// upstream app. Dropping it stops them all.
struct GatedApp {
    op: support::provider::Provider,
    gate: Gate,
    proxy: Proxy,
    ports: Ports,
    public: String,
    _files: TempDir,
}

async fn gated_app(
    start: fn(&Ports) -> std::pin::Pin<Box<dyn std::future::Future<Output = Proxy> + '_>>,
) -> GatedApp {
    use support::provider::Provider;
    let ports = Ports {
        gate: free_port(),
        app: free_port(),
        proxy: free_port(),
    };
    let public = format!("http://127.0.0.1:{}", ports.proxy);
    let op = Provider::start(
        "gated-app",
        Some("gate-s3cret"),
        &format!("{public}/reauth/callback"),
    );
    let files = temp_dir("stepup");
    let file = |name: &str, content: &[u8]| {
        let p = files.0.join(name);
        std::fs::write(&p, content).unwrap();
        p.to_str().unwrap().to_owned()
    };
    let policy = file("reauth.toml", readme_block("toml reauth.toml").as_bytes());
    let secret = file("client-secret", b"gate-s3cret\n");
    let key = file("cookie-key", &[42u8; 32]);
    let args = readme_stepup_args(&[
        ("https://id.example.com", &op.issuer),
        ("my-app", "gated-app"),
        ("/etc/reauth/reauth.toml", &policy),
        ("/etc/reauth/client-secret", &secret),
        ("/etc/reauth/cookie-key", &key),
        ("https://app.example.com", &public),
    ]);
    let bind = format!("127.0.0.1:{}", ports.gate);
    let mut args: Vec<&str> = args.iter().map(String::as_str).collect();
    args.extend(["--bind", &bind]);
    let gate = support::serve_args(&args, &[("RUST_LOG", "info")]).await;
    upstream(ports.app).await;
    let proxy = start(&ports).await;
    GatedApp {
        op,
        gate,
        proxy,
        ports,
        public,
        _files: files,
    }
}

/// Behind the proxy with the README's snippet, against a real OpenID
/// provider: a browser whose login is an hour old asking for a route with
/// `max_age = "5m"` ends on it after a new login at the provider; a
/// provider that hands back the old login does not get it there; a
/// cross-site POST is refused; API clients keep the RFC 9470 challenge.
async fn stepup_round_trip(
    start: fn(&Ports) -> std::pin::Pin<Box<dyn std::future::Future<Output = Proxy> + '_>>,
) {
    use support::browser::Browser;
    let Some(()) = support::provider::Provider::available() else {
        return;
    };
    let GatedApp {
        op,
        gate,
        mut proxy,
        ports,
        public,
        _files,
    } = gated_app(start).await;
    let url = |path: &str| format!("{public}{path}");
    let session = "reauth_id_token";

    // Signed in an hour ago (a plain sign-in proves nothing, demands nothing).
    let browser = Browser::new();
    op.next_login(json!({"sub": "alice", "auth_time": unix_now() - 3600}))
        .await;
    let hops = browser
        .follow(&url("/reauth/sign-in?rd=/static/welcome.html"))
        .await;
    let last = hops.last().unwrap();
    assert_eq!(
        last.status,
        200,
        "{hops:#?}\ngate: {:?}",
        gate.logs.lock().unwrap()
    );
    assert!(last.url.ends_with("/static/welcome.html"), "{}", last.url);
    let old = browser
        .cookie(&public, session)
        .expect("the session cookie");

    // The 5-minute route: sent to the provider, a new login, back on it.
    op.next_login(json!({"auth_time": null})).await;
    let hops = browser.follow(&url("/account/security/keys?tab=2")).await;
    assert_eq!(hops[0].status, 302, "{hops:#?}");
    assert_eq!(
        hops[0].location.as_deref(),
        Some(format!("{public}/reauth/start?rd=%2Faccount%2Fsecurity%2Fkeys%3Ftab%3D2").as_str())
    );
    let to_provider = hops[1].location.clone().unwrap();
    assert!(to_provider.starts_with(&op.issuer), "{to_provider}");
    for part in ["max_age=300", "prompt=login", "login_hint=alice"] {
        assert!(to_provider.contains(part), "{part}: {to_provider}");
    }
    let last = hops.last().unwrap();
    assert_eq!(
        last.status,
        200,
        "{hops:#?}\ngate: {:?}",
        gate.logs.lock().unwrap()
    );
    assert!(
        last.url.ends_with("/account/security/keys?tab=2"),
        "{}",
        last.url
    );
    let seen: Value = serde_json::from_str(&last.body).unwrap();
    assert_eq!(seen["headers"]["x-reauth-subject"], "alice");
    assert_eq!(seen["headers"]["x-reauth-route"], "security");
    assert_eq!(op.logins().await, 2, "the provider logged alice in again");
    let fresh = browser.cookie(&public, session).unwrap();
    assert_ne!(fresh, old);

    // A provider that hands back an older login: refused at the callback,
    // the browser never reaches the route, the session stays.
    let stale_browser = Browser::new();
    stale_browser.set_cookie(&public, session, &old);
    for (ago, code) in [
        (3600, "authentication_too_old"),
        (120, "reauthentication_not_proven"),
    ] {
        op.next_login(json!({"auth_time": unix_now() - ago})).await;
        let hops = stale_browser.follow(&url("/account/security/keys")).await;
        let last = hops.last().unwrap();
        assert_eq!(last.status, 403, "{hops:#?}");
        assert!(last.url.contains("/reauth/callback"), "{}", last.url);
        assert!(last.body.contains(code), "{code}: {}", last.body);
        assert_eq!(
            stale_browser.cookie(&public, session).as_deref(),
            Some(old.as_str())
        );
    }

    // A cross-site POST with the session cookie: refused; same-origin: passes.
    let post = |origin: &str| {
        reqwest::Client::new()
            .post(url("/account/security/keys"))
            .header("origin", origin)
            .header("cookie", format!("{session}={fresh}"))
            .body("x=1")
            .send()
    };
    let r = post("https://evil.example").await.unwrap();
    assert_eq!(r.status(), 403);
    assert!(r.text().await.unwrap().contains("cross_site_request"));
    let r = post(&public).await.unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());

    // An API client with the old login: the RFC 9470 challenge, no redirect.
    let r = call(
        &ports,
        "GET",
        "/account/security/keys",
        None,
        &[
            ("accept", "application/json"),
            ("cookie", &format!("{session}={old}")),
        ],
        None,
    )
    .await;
    assert_eq!(r.status, 401, "{}", r.body);
    let challenge = r.headers["www-authenticate"].to_str().unwrap();
    assert!(
        challenge.contains("insufficient_user_authentication")
            && challenge.contains("max_age=\"300\""),
        "{challenge}"
    );
    assert!(r.headers.get("location").is_none());
    // A browser on a route that says browser = "challenge": the 401 too.
    let r = call(
        &ports,
        "GET",
        "/api/me",
        None,
        &[("accept", "text/html")],
        None,
    )
    .await;
    assert_eq!(r.status, 401, "{}", r.body);

    // Signed out: the next navigation is sent to sign in again.
    let no_redirects = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let r = no_redirects
        .post(url("/reauth/sign-out"))
        .header("origin", &public)
        .header("cookie", format!("{session}={fresh}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert!(
        r.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .starts_with(&format!("{session}=;")),
        "{:?}",
        r.headers()
    );
    let _ = proxy.child.kill().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_nginx_guide_steps_browsers_up() {
    if available("nginx") {
        stepup_round_trip(|p| Box::pin(nginx(p))).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_caddy_guide_steps_browsers_up() {
    if available("caddy") {
        stepup_round_trip(|p| Box::pin(caddy(p))).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_haproxy_guide_steps_browsers_up() {
    if available("haproxy") {
        stepup_round_trip(|p| Box::pin(haproxy(p))).await;
    }
}

/// The gate behind nginx, in a real browser (headless Chromium): an
/// hour-old session asking for the 5-minute route is sent to the provider
/// and lands back on it; the session cookie has its documented name and
/// flags; a login older than the start and a replayed callback are refused.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_real_browser_steps_up_through_the_nginx_guide() {
    use support::chromium::Chromium;
    if !available("nginx") || support::provider::Provider::available().is_none() {
        return;
    }
    let Some(browser) = Chromium::start().await else {
        return;
    };
    let app = gated_app(|p| Box::pin(nginx(p))).await;
    let url = |path: &str| format!("{}{path}", app.public);
    let now = unix_now();

    // Signed in an hour ago.
    app.op
        .next_login(json!({"sub": "alice", "auth_time": now - 3600}))
        .await;
    let page = browser
        .goto(&url("/reauth/sign-in?rd=/static/welcome.html"))
        .await;
    assert_eq!(page.url, url("/static/welcome.html"), "{page:#?}");
    let old = browser.cookie("reauth_id_token").await.expect("a session");

    // The provider hands back a login older than the start: refused on
    // the callback, never on the page.
    app.op
        .next_login(json!({"auth_time": unix_now() - 120}))
        .await;
    let page = browser.goto(&url("/account/security/keys")).await;
    assert!(page.url.starts_with(&url("/reauth/callback?")), "{page:#?}");
    assert_eq!(page.status, 403, "{page:#?}");
    assert!(
        page.text.contains("reauthentication_not_proven"),
        "{}",
        page.text
    );
    assert_eq!(
        browser.cookie("reauth_id_token").await.unwrap().value(),
        old.value()
    );

    // A new login: back on the page it asked for, through /reauth/start.
    app.op.next_login(json!({"auth_time": null})).await;
    let page = browser.goto(&url("/account/security/keys?tab=2")).await;
    assert_eq!(page.url, url("/account/security/keys?tab=2"), "{page:#?}");
    assert_eq!(page.status, 200, "{page:#?}");
    assert!(
        page.text.contains("\"x-reauth-subject\":\"alice\""),
        "{}",
        page.text
    );
    assert!(
        page.hops.requested_url(&url("/reauth/start?rd=")).is_some(),
        "{page:#?}"
    );
    let authorize = page
        .hops
        .requested_url(&format!("{}/auth?", app.op.issuer))
        .expect("the provider's authorization endpoint")
        .to_owned();
    assert!(
        authorize.contains("max_age=300") && authorize.contains("prompt=login"),
        "{authorize}"
    );
    assert_eq!(app.op.logins().await, 3);

    // The session cookie as the browser keeps it.
    let cookie = browser.cookie("reauth_id_token").await.unwrap();
    assert_ne!(cookie.value(), old.value());
    assert_eq!(cookie.http_only(), Some(true), "{cookie:?}");
    assert_eq!(
        cookie.same_site().map(|v| v.to_string()).as_deref(),
        Some("Lax"),
        "{cookie:?}"
    );
    assert_eq!(cookie.path(), Some("/"), "{cookie:?}");

    // The callback visited again: 400 invalid_state, the session kept.
    let callback = page
        .hops
        .requested_url(&url("/reauth/callback?"))
        .expect("the callback")
        .to_owned();
    let again = browser.goto(&callback).await;
    assert_eq!(again.status, 400, "{again:#?}");
    assert!(again.text.contains("invalid_state"), "{}", again.text);
    assert_eq!(
        browser.cookie("reauth_id_token").await.unwrap().value(),
        cookie.value()
    );
    drop(app);
}

/// The nginx guide with the gate on a Unix socket (`reauth serve --bind
/// unix:/PATH`, `server unix:/PATH;`, as the README says): the same
/// answers as over TCP.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_nginx_guide_works_with_the_gate_on_a_unix_socket() {
    if !available("nginx") {
        return;
    }
    on_a_unix_socket(|ports, socket| {
        Box::pin(async move {
            let gate_line = format!("server 127.0.0.1:{};", ports.gate);
            nginx_with(&ports, |conf| {
                assert!(conf.contains(&gate_line), "the guide's gate upstream");
                conf.replace(&gate_line, &format!("server unix:{socket};"))
            })
            .await
        })
    })
    .await;
}

/// The HAProxy guide with the gate on a Unix socket (the Lua action's
/// `DST = "unix@/PATH"`, as the README says): the same answers as over
/// TCP, with the TCP port closed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_haproxy_guide_works_with_the_gate_on_a_unix_socket() {
    if !available("haproxy") {
        return;
    }
    on_a_unix_socket(|ports, socket| {
        Box::pin(async move {
            haproxy_with(&ports, |lua| {
                assert!(lua.contains("local DST = nil"), "the guide's DST line");
                lua.replace("local DST = nil", &format!("local DST = \"unix@{socket}\""))
            })
            .await
        })
    })
    .await;
}

/// The gate on a Unix socket (nothing listens on the guide's TCP port),
/// the proxy `start`ed with its guide edited to ask the socket: a fresh
/// token passes with the identity, a stale one is refused.
async fn on_a_unix_socket(
    start: impl FnOnce(Ports, String) -> std::pin::Pin<Box<dyn std::future::Future<Output = Proxy>>>,
) {
    let issuer = TestIssuer::start().await;
    let dir = temp_dir("uds");
    let socket = dir.0.join("gate.sock").to_str().unwrap().to_owned();
    let policy = dir.0.join("reauth.toml");
    std::fs::write(&policy, readme_block("toml reauth.toml")).unwrap();
    // The proxy runs as this user here; the mode lets it connect.
    let _gate = support::serve_unix(
        &issuer,
        &socket,
        &["--config", policy.to_str().unwrap(), "--socket-mode", "660"],
    )
    .await;
    let ports = Ports {
        gate: free_port(),
        app: free_port(),
        proxy: free_port(),
    };
    upstream(ports.app).await;
    let mut proxy = start(ports, socket).await;
    let fresh = issuer.token().auth_time_ago(30).sign();
    let r = call(&ports, "GET", "/home", Some(&fresh), &[], None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.seen("x-reauth-subject").as_deref(), Some("user-1"));
    let stale = issuer.token().auth_time_ago(3600).sign();
    let r = call(&ports, "GET", "/home", Some(&stale), &[], None).await;
    assert_eq!(r.status, 401, "{}", r.body);
    let _ = proxy.child.kill().await;
}
