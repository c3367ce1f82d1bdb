//! The policy file of `reauth serve --config` through the library's public
//! API: parsing and its errors, and route matching against the usual path
//! tricks. (The gate itself, with a real issuer: tests/serve_policy.rs.)

use reauth::gate::{Action, Decision, Original, Policy, Refusal, Unmatched};

const POLICY: &str = r#"
[defaults]
max_age = "15m"

[[route]]
name = "static"
path = "/static/**"
public = true

[[route]]
name = "delete-account"
methods = ["POST", "DELETE"]
path = "/account/delete"
max_age = "5m"
amr = ["mfa"]

[[route]]
name = "admin"
hosts = ["admin.example.com", "*.admin.example.com"]
path = "/admin/**"
acr_values = ["urn:mfa"]
when_cannot_reauthenticate = "allow"

[[route]]
name = "user-files"
path = "/files/*/download"

[[route]]
name = "api"
path = "/api/**"
"#;

fn req(method: &str, host: &str, uri: &str) -> Original {
    Original {
        method: Some(method.into()),
        host: Some(host.into()),
        uri: Some(uri.into()),
        method_override: false,
    }
}

fn route(p: &Policy, method: &str, host: &str, uri: &str) -> String {
    match p.decide(&req(method, host, uri)) {
        Decision::Route(r) => r.name().to_owned(),
        Decision::NoRoute => "NO_ROUTE".into(),
        Decision::Refused(_) => "REFUSED".into(),
        other => format!("{other:?}"),
    }
}

#[test]
fn routes_carry_their_requirements() {
    let p = Policy::parse(POLICY).unwrap();
    assert_eq!(p.unmatched(), Unmatched::Deny);
    let by_name = |n: &str| p.routes().iter().find(|r| r.name() == n).unwrap();
    assert_eq!(by_name("static").action(), &Action::Public);
    let Action::Verify(del) = by_name("delete-account").action() else {
        panic!()
    };
    assert_eq!(del.max_age_secs(), Some(300));
    assert_eq!(del.amr(), ["mfa"]);
    let Action::Verify(admin) = by_name("admin").action() else {
        panic!()
    };
    // Absent keys take [defaults].
    assert_eq!(admin.max_age_secs(), Some(900));
    assert_eq!(admin.acr(), ["urn:mfa"]);
    assert_eq!(admin.policy(), Some(reauth::ReauthPolicy::Allow));
}

#[test]
fn matching_is_on_method_host_and_normalised_path() {
    let p = Policy::parse(POLICY).unwrap();
    let h = "app.example.com";
    assert_eq!(route(&p, "POST", h, "/account/delete"), "delete-account");
    assert_eq!(
        route(&p, "POST", h, "/Account/Delete/?x=1"),
        "delete-account"
    );
    assert_eq!(route(&p, "GET", h, "/account/delete"), "NO_ROUTE");
    assert_eq!(route(&p, "GET", "admin.example.com:443", "/admin"), "admin");
    assert_eq!(route(&p, "GET", "x.admin.example.com", "/admin/x"), "admin");
    assert_eq!(route(&p, "GET", h, "/admin/x"), "NO_ROUTE");
    assert_eq!(route(&p, "GET", h, "/files/7/download"), "user-files");
    assert_eq!(route(&p, "GET", h, "/files/7/8/download"), "NO_ROUTE");
    // HEAD is GET's.
    let get_only = Policy::parse("[[route]]\nname='r'\nmethods=['GET']\npath='/r'").unwrap();
    assert_eq!(route(&get_only, "HEAD", h, "/r"), "r");
}

#[test]
fn the_usual_tricks_never_reach_a_laxer_route() {
    let p = Policy::parse(POLICY).unwrap();
    let h = "app.example.com";
    // Every reading of these is the delete route, or the request is refused:
    // never the public route, never no route.
    for uri in [
        "/account//delete",
        "/account/./delete",
        "/static/../account/delete",
        "/%61ccount/delete",
        "/ACCOUNT/DELETE",
        "/account/delete/",
    ] {
        assert_eq!(route(&p, "POST", h, uri), "delete-account", "{uri}");
    }
    for uri in [
        "/static/%2e%2e/account/delete",
        "/static/..%2Faccount/delete",
        "/static%2F..%2Faccount/delete",
        "/static/..\\account/delete",
        "/static/..;/account/delete",
        "/static/%252e%252e/account/delete",
        // Servlet containers drop ;parameters, other servers do not.
        "/account;jsessionid=1/delete",
    ] {
        assert_eq!(route(&p, "POST", h, uri), "REFUSED", "{uri}");
    }
    // A second decoding that yields a separator (`..%252F`, IIS `..%255c`).
    for uri in [
        "/static/..%252Faccount/delete",
        "/static/..%255caccount/delete",
        "/static/%2e%2e%252Faccount/delete",
    ] {
        assert_eq!(route(&p, "POST", h, uri), "REFUSED", "{uri}");
    }
    // A format suffix that some frameworks drop.
    assert_eq!(route(&p, "POST", h, "/account/delete.json"), "REFUSED");
    assert_eq!(route(&p, "GET", h, "/static/app.js"), "static");
    // `#` is never part of a request-target; methods are case-sensitive.
    assert_eq!(route(&p, "GET", h, "/static#/../account/delete"), "REFUSED");
    assert_eq!(route(&p, "get", h, "/static/x"), "REFUSED");
    // Non-ASCII text that Unicode folding could turn into a route's name.
    assert_eq!(route(&p, "POST", h, "/%C5%BFtatic/x"), "REFUSED");
    let lax =
        Policy::parse("[limits]\nallow_non_ascii = true\n[[route]]\nname='a'\npath='/**'").unwrap();
    assert_eq!(route(&lax, "GET", h, "/caf%C3%A9"), "a");
    // %2F inside a segment never splits it: one segment, and both readings
    // (kept, split) agree here.
    assert_eq!(route(&p, "GET", h, "/api/a%2Fb"), "api");
    // ... and where they would not, the request is refused.
    assert_eq!(route(&p, "GET", h, "/files/a%2Fb/download"), "REFUSED");
    // What no reading makes safe.
    for uri in [
        "/api/../../etc",
        "/api/%00",
        "/api/%zz",
        "http://x/api",
        "*",
        "",
    ] {
        assert_eq!(route(&p, "GET", h, uri), "REFUSED", "{uri}");
    }
}

#[test]
fn what_the_proxy_must_send() {
    let p = Policy::parse(POLICY).unwrap();
    let mut r = req("GET", "a", "/api");
    r.host = None;
    assert!(matches!(p.decide(&r), Decision::Misconfigured(_)));
    let mut r = req("GET", "a", "/api");
    r.uri = None;
    assert!(matches!(p.decide(&r), Decision::Misconfigured(_)));
    let mut r = req("POST", "a", "/api");
    r.method_override = true;
    assert_eq!(p.decide(&r), Decision::Refused(Refusal::MethodOverride));

    let headers = |pairs: &'static [(&'static str, &'static str)]| {
        Original::from_headers(pairs.iter().map(|(k, v)| (*k, v.as_bytes())))
    };
    let o = headers(&[
        ("x-original-method", "POST"),
        ("x-original-uri", "/a?b"),
        ("x-forwarded-uri", "/a?b"),
        ("x-forwarded-host", "App.Example.com:8443"),
    ])
    .unwrap();
    assert_eq!(
        (o.method.as_deref(), o.host.as_deref(), o.uri.as_deref()),
        (Some("POST"), Some("App.Example.com:8443"), Some("/a?b"))
    );
    // A client-sent X-Forwarded-Uri that disagrees with the proxy's own.
    assert!(matches!(
        headers(&[
            ("x-original-uri", "/admin"),
            ("x-forwarded-uri", "/static/x")
        ]),
        Err(Refusal::Disagree(..))
    ));
    assert!(matches!(
        headers(&[("x-original-uri", "/a"), ("x-original-uri", "/b")]),
        Err(Refusal::Repeated(_))
    ));
    // Hosts are read as sent and judged only where routes use them.
    let o = headers(&[("x-original-host", "a b"), ("x-original-uri", "/api")]).unwrap();
    let no_hosts = Policy::parse("[[route]]\nname='api'\npath='/api'").unwrap();
    assert!(matches!(no_hosts.decide(&o), Decision::Route(_)));
    let mut with_method = o.clone();
    with_method.method = Some("GET".into());
    assert!(matches!(
        p.decide(&with_method),
        Decision::Refused(Refusal::BadHeader(_))
    ));
    assert!(headers(&[("x-original-method", "get")]).is_err());
    // Envoy: the request's own method-override headers count.
    let e = Original::envoy("POST", Some("a"), "/api", true).unwrap();
    assert_eq!(p.decide(&e), Decision::Refused(Refusal::MethodOverride));
    assert!(Original::envoy("post", None, "/api", false).is_err());
}

#[test]
fn unmatched_verify_uses_the_defaults() {
    let p = Policy::parse("unmatched = 'verify'\n[defaults]\nmax_age = 60").unwrap();
    match p.decide(&req("GET", "a", "/anything")) {
        Decision::Defaults(r) => assert_eq!(r.max_age_secs(), Some(60)),
        other => panic!("{other:?}"),
    }
}

/// Every mistake, each at its line and column.
#[test]
fn every_error_has_its_place() {
    let text = r#"unmatchd = "deny"

[defaults]
max_age = "5x"

[[route]]
name = "all"
path = "/**"

[[route]]
name = "all"
path = "/admin/**"
colour = 1

[[route]]
name = "pub"
path = "/a/"
public = true
max_age = 3

[[route]]
name = "_hidden"
path = "/x"
methods = ["GE T"]
"#;
    let errors = Policy::parse(text).unwrap_err();
    let at: Vec<(usize, usize)> = errors.iter().map(|e| (e.line, e.column)).collect();
    let messages: Vec<&str> = errors.iter().map(|e| e.message.as_str()).collect();
    let has = |line: usize, col: usize, needle: &str| {
        assert!(
            errors
                .iter()
                .any(|e| e.line == line && e.column == col && e.message.contains(needle)),
            "no error at {line}:{col} containing {needle:?} in {at:?} {messages:#?}"
        );
    };
    has(1, 1, "unknown key \"unmatchd\"");
    has(4, 11, "unknown unit");
    has(10, 1, "used twice");
    has(10, 1, "can never match");
    has(13, 1, "unknown key \"colour\"");
    has(17, 8, "trailing /");
    has(19, 1, "public route");
    has(22, 8, "route name");
    has(24, 12, "not an HTTP method");
    // A duplicate name is reported even on a route with another mistake.
    let e = Policy::parse("[[route]]\nname='a'\npath='/a'\n[[route]]\nname='a'\npath='bad'")
        .unwrap_err();
    assert!(
        e.iter()
            .any(|e| e.line == 4 && e.message.contains("used twice")),
        "{e:?}"
    );
    // A syntax error, located.
    let e = Policy::parse("a = [\n").unwrap_err();
    assert_eq!((e.len(), e[0].line), (1, 1), "{e:?}");
    // Types and ranges.
    for bad in [
        "unmatched = 'allow'",
        "[limits]\nmax_uri_bytes = 0",
        "[limits]\nmax_segments = 'x'",
        "[defaults]\nmax_age = 0",
        "[defaults]\nmax_age = -5",
        "[defaults]\nmax_age = '99999999999d'",
        "route = 1",
        "[[route]]\npath = '/x'",
        "[[route]]\nname = 'x'",
        "[[route]]\nname='x'\npath='/x'\nhosts=[]",
        "[[route]]\nname='x'\npath='/x'\nhosts=['a:80']",
        "[[route]]\nname='x'\npath='/x'\npublic='yes'",
    ] {
        assert!(Policy::parse(bad).is_err(), "{bad}");
    }
}

#[test]
fn shadowing_is_exact() {
    // A later, narrower route is fine; a broader or equal one after is not.
    for (ok, text) in [
        (
            true,
            "[[route]]\nname='a'\npath='/a/b'\n[[route]]\nname='b'\npath='/a/**'",
        ),
        (
            false,
            "[[route]]\nname='a'\npath='/a/**'\n[[route]]\nname='b'\npath='/a/b'",
        ),
        (
            false,
            "[[route]]\nname='a'\npath='/a/*'\n[[route]]\nname='b'\npath='/a/b'",
        ),
        (
            true,
            "[[route]]\nname='a'\npath='/a/*'\n[[route]]\nname='b'\npath='/a/b/c'",
        ),
        (
            true,
            "[[route]]\nname='a'\nmethods=['POST']\npath='/a'\n[[route]]\nname='b'\npath='/a'",
        ),
        (
            false,
            "[[route]]\nname='a'\nmethods=['GET']\npath='/a'\n[[route]]\nname='b'\nmethods=['HEAD']\npath='/a'",
        ),
        (
            true,
            "[[route]]\nname='a'\nhosts=['x.com']\npath='/**'\n[[route]]\nname='b'\npath='/a'",
        ),
        (
            false,
            "[[route]]\nname='a'\nhosts=['*.x.com']\npath='/**'\n[[route]]\nname='b'\nhosts=['a.x.com']\npath='/a'",
        ),
    ] {
        assert_eq!(Policy::parse(text).is_ok(), ok, "{text}");
    }
}
