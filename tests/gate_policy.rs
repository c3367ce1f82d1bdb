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

/// Issue 23 item 8: a `_method` query parameter chooses the handler in
/// Symfony, Laravel, Express and Jersey, like X-HTTP-Method-Override.
#[test]
fn a_method_override_query_parameter_is_refused_like_the_header() {
    let p = Policy::parse(POLICY).unwrap();
    let h = "app.example.com";
    for uri in [
        "/api/x?_method=DELETE",
        "/api/x?a=1&_method=DELETE",
        "/api/x?a=1;_method=DELETE",
        "/api/x?_METHOD=DELETE",
        "/api/x?_Method=PUT",
        "/api/x?%5Fmethod=DELETE",
        "/api/x?%5fMETHOD=DELETE",
        "/api/x?%255Fmethod=DELETE",
        "/api/x?_method%3D=DELETE",
        "/api/x?_method",
        "/api/x?_method[]=DELETE",
        "/api/x?+_method=DELETE",
        "/api/x?.method=DELETE",
        "/api/x?%2Emethod=DELETE",
        "/api/x?_method%00x=DELETE",
        "/api/x?#&_method=DELETE",
        // Decoded before it is split.
        "/api/x?q=%26_method%3DDELETE",
    ] {
        assert_eq!(
            p.decide(&req("GET", h, uri)),
            Decision::Refused(Refusal::MethodOverride),
            "{uri}"
        );
    }
    // Other names, or a value of `_method`, are not overrides.
    for uri in [
        "/api/x?method=DELETE",
        "/api/x?_methods=DELETE",
        "/api/x?x_method=DELETE",
        "/api/x?q=_method",
        "/api/x?q=_method%3DDELETE",
        "/api/x?",
        "/api/x",
    ] {
        assert_eq!(route(&p, "GET", h, uri), "api", "{uri}");
    }
    // Where no route is chosen by method, the method does not matter.
    let any_method = Policy::parse("[[route]]\nname='api'\npath='/api/**'").unwrap();
    assert_eq!(route(&any_method, "GET", h, "/api/x?_method=DELETE"), "api");
    // Envoy: the query is the original request's.
    let e = Original::envoy("GET", Some(h), "/api/x?_method=DELETE", false).unwrap();
    assert_eq!(p.decide(&e), Decision::Refused(Refusal::MethodOverride));
}

/// Issue 23 item 9: `%3F` / `%23` decode to `?` / `#` inside a segment,
/// which some servers read as the end of the path.
#[test]
fn encoded_query_and_fragment_delimiters_in_a_path_are_refused() {
    use reauth::gate::PathError;
    let p = Policy::parse(
        "[[route]]\nname='admin'\npath='/admin/**'\nmax_age='5m'\n\
         [[route]]\nname='pub'\npath='/**'\npublic=true",
    )
    .unwrap();
    for uri in [
        "/admin%3F/x",
        "/admin%3f/x",
        "/admin%23/x",
        "/admin%253F/x",
        "/admin%2523/x",
        "/x/a%3Fb",
        "/admin%3F",
    ] {
        assert_eq!(
            p.decide(&req("GET", "a", uri)),
            Decision::Refused(Refusal::Path(PathError::EncodedDelimiter)),
            "{uri}"
        );
    }
    // A real query is not part of the path.
    assert_eq!(route(&p, "GET", "a", "/admin?/x"), "admin");
    assert_eq!(route(&p, "GET", "a", "/x/%3D"), "pub");
}

/// Issue 23 item 10: `scopes` on a gate that verifies ID tokens.
#[test]
fn scopes_need_access_tokens() {
    use reauth::TokenKind;
    let text = "[[route]]\nname='pay'\npath='/pay/**'\nscopes=['pay']\n";
    let e = Policy::parse_for(text, TokenKind::IdToken).unwrap_err();
    assert_eq!((e.len(), e[0].line, e[0].column), (1, 4, 1), "{e:?}");
    assert!(e[0].message.contains("route \"pay\""), "{e:?}");
    assert!(e[0].message.contains("--token-kind access"), "{e:?}");
    let defaults = "[defaults]\nscopes=['read']\n[[route]]\nname='all'\npath='/**'\n";
    let e = Policy::parse_for(defaults, TokenKind::IdToken).unwrap_err();
    assert!(e[0].message.contains("[defaults]"), "{e:?}");
    assert!(Policy::parse_for(text, TokenKind::AccessToken).is_ok());
    assert!(Policy::parse_for(defaults, TokenKind::AccessToken).is_ok());
    assert!(Policy::parse_for(POLICY, TokenKind::IdToken).is_ok());
}

fn route_text(routes: &[(&str, &str, &str)]) -> String {
    routes
        .iter()
        .map(|(name, path, rest)| format!("[[route]]\nname = '{name}'\npath = '{path}'\n{rest}\n"))
        .collect()
}

/// The new-user trap: `/admin/*` then a public `/**` lets `/admin` and
/// `/admin/users/42/delete` through without a token.
#[test]
fn a_one_segment_pattern_before_a_weaker_route_is_an_error() {
    let public = "public = true";
    let trap = route_text(&[
        ("admin", "/admin/*", "max_age = '5m'"),
        ("all", "/**", public),
    ]);
    let e = Policy::parse(&trap).unwrap_err();
    assert_eq!((e.len(), e[0].line, e[0].column), (1, 1, 1), "{e:?}");
    let m = &e[0].message;
    for needle in [
        "route \"admin\"",
        "route \"all\"",
        "/admin itself",
        "no token",
        "did you mean path = \"/admin/**\"",
    ] {
        assert!(m.contains(needle), "{needle:?} not in {m}");
    }
    // The deeper paths alone (the bare prefix has a route of its own).
    let deeper = route_text(&[
        ("bare", "/admin", "max_age = '5m'"),
        ("admin", "/admin/*", "max_age = '5m'"),
        ("all", "/**", public),
    ]);
    let e = Policy::parse(&deeper).unwrap_err();
    assert!(e[0].message.contains("/admin/x/y"), "{e:?}");
    // Weaker than a route is less of anything it demands; each is caught.
    for (strong, weak) in [
        ("max_age = '5m'", "max_age = '15m'"),
        ("max_age = '5m'", ""),
        ("acr_values = ['urn:mfa']", ""),
        (
            "acr_values = ['urn:mfa']",
            "acr_values = ['urn:mfa', 'urn:pwd']",
        ),
        ("amr = ['mfa']", "amr = ['pwd']"),
        ("scopes = ['admin']", ""),
        (
            "max_age = '5m'\nwhen_cannot_reauthenticate = 'deny'",
            "max_age = '5m'\nwhen_cannot_reauthenticate = 'allow'",
        ),
    ] {
        let text = route_text(&[("admin", "/users/*/posts/*", strong), ("all", "/**", weak)]);
        let e = Policy::parse(&text).unwrap_err();
        assert!(
            e[0].message
                .contains("did you mean path = \"/users/*/posts/**\""),
            "{strong} / {weak}: {e:?}"
        );
    }
    // A decoy for one deeper path does not hide the others.
    let decoy = route_text(&[
        ("admin-public", "/admin/public/**", public),
        ("admin", "/admin/*", "max_age = '5m'"),
        ("all", "/**", public),
    ]);
    assert!(Policy::parse(&decoy).is_err());
    // `unmatched = "verify"` with laxer [defaults] is a weaker route too.
    let defaults = format!(
        "unmatched = 'verify'\n[defaults]\nmax_age = '1h'\n{}",
        route_text(&[("admin", "/admin/*", "max_age = '5m'")])
    );
    let e = Policy::parse(&defaults).unwrap_err();
    assert!(e[0].message.contains("[defaults]"), "{e:?}");

    // Valid files stay valid.
    for ok in [
        // What was meant.
        route_text(&[
            ("admin", "/admin/**", "max_age = '5m'"),
            ("all", "/**", public),
        ]),
        // As strict after it, or stricter.
        route_text(&[
            ("admin", "/admin/*", "max_age = '5m'"),
            ("all", "/**", "max_age = '1m'"),
        ]),
        route_text(&[("api", "/api/*", ""), ("all", "/**", "")]),
        // Nothing after it: the rest is denied.
        route_text(&[("admin", "/admin/*", "max_age = '5m'")]),
        // The bare prefix and the deeper paths let through on purpose.
        route_text(&[
            ("admin-home", "/admin", public),
            ("admin-deep", "/admin/*/*/**", public),
            ("admin", "/admin/*", "max_age = '5m'"),
            ("all", "/**", public),
        ]),
        // Other methods or hosts than the route's.
        route_text(&[
            ("admin", "/admin/*", "methods = ['POST']\nmax_age = '5m'"),
            ("reads", "/**", "methods = ['GET']\npublic = true"),
        ]),
        route_text(&[
            (
                "admin",
                "/admin/*",
                "hosts = ['admin.example.com']\nmax_age = '5m'",
            ),
            ("www", "/**", "hosts = ['www.example.com']\npublic = true"),
        ]),
        // A public one-segment route demands nothing to fall from.
        route_text(&[("files", "/files/*", public), ("all", "/**", "")]),
        // Stronger routes take every method first.
        route_text(&[
            ("admin", "/admin/*", "methods = ['POST']\nmax_age = '5m'"),
            ("admin-rest", "/admin/**", "max_age = '1m'"),
            ("all", "/**", public),
        ]),
    ] {
        assert!(Policy::parse(&ok).is_ok(), "{ok}: {:?}", Policy::parse(&ok));
    }
    // A method the strong route takes that a weaker route catches.
    let get_public = route_text(&[
        (
            "admin",
            "/admin/*",
            "methods = ['GET', 'POST']\nmax_age = '5m'",
        ),
        ("writes", "/admin/**", "methods = ['POST']\nmax_age = '1m'"),
        ("all", "/**", public),
    ]);
    let e = Policy::parse(&get_public).unwrap_err();
    assert!(e[0].message.contains("route \"all\""), "{e:?}");
}
