//! Property tests for what the gate's browser step-up reads from requests
//! (`reauth::gate::browser`): the original URI that becomes `rd`, the
//! `/reauth/` query, the `Cookie` headers and the same-origin headers.
//! Arbitrary input never panics; a refused browser is only ever sent to
//! the gate's own `/reauth/start` with an `rd` of this origin; a cookie
//! session never passes a state change without a same-origin proof.
#![cfg(all(feature = "gate", feature = "stepup"))]

use std::sync::OnceLock;

use proptest::prelude::*;
use reauth::gate::BrowserMode;
use reauth::gate::browser::{Credential, GateBrowser};
use reauth::gate::forward::{self, ForwardRequest, Judged};
use reauth::guard::GuardError;
use reauth::stepup::{StepUp, check_return_to};
use reauth::testing::TestIssuer;
use reauth::{Answer, Requirement};

const PUBLIC: &str = "https://app.example.com";

/// One runtime and one test issuer for every case (the issuer's server
/// runs on the runtime).
fn fixture() -> &'static (tokio::runtime::Runtime, GateBrowser, TestIssuer) {
    static F: OnceLock<(tokio::runtime::Runtime, GateBrowser, TestIssuer)> = OnceLock::new();
    F.get_or_init(|| {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let (browser, issuer) = rt.block_on(async {
            let issuer = TestIssuer::start().await;
            let verifier = issuer.verifier().await;
            let config = issuer
                .step_up_config(&GateBrowser::redirect_uri(PUBLIC))
                .build()
                .unwrap();
            let step = StepUp::new(verifier, config).unwrap();
            (GateBrowser::new(step, PUBLIC).unwrap(), issuer)
        });
        (rt, browser, issuer)
    })
}

fn request<'a>(
    method: &'a str,
    path: &'a str,
    query: &'a str,
    headers: &'a [(&'a str, &'a [u8])],
) -> ForwardRequest<'a> {
    ForwardRequest {
        method,
        path,
        query,
        headers,
    }
}

fn header(answer: &Answer, name: &str) -> Option<String> {
    answer
        .headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.clone())
}

/// Printable ASCII and a few bytes proxies pass through.
fn uri() -> impl Strategy<Value = String> {
    prop_oneof![
        "/[ -~]{0,80}",
        "[ -~]{0,80}",
        Just("//evil.example/x".to_owned()),
        Just("/\\evil.example".to_owned()),
        Just("https://evil.example/".to_owned()),
        Just("/a/%2e%2e/%2f%2fevil".to_owned()),
        "/[a-z]{1,8}\\?[a-z=&%0-9]{0,40}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// A refused browser navigation is sent to this gate's /reauth/start
    /// only, with an `rd` that is a path of this origin.
    #[test]
    fn a_refused_browser_is_only_sent_to_its_own_start(uri in uri(), redirect_as in any::<bool>()) {
        let (_, browser, _) = fixture();
        let mut headers: Vec<(&str, &[u8])> = vec![
            ("x-original-method", b"GET"),
            ("x-original-uri", uri.as_bytes()),
            ("accept", b"text/html"),
        ];
        if redirect_as {
            headers.push(("x-reauth-redirect-as", b"header"));
        }
        let req = request("GET", "/verify", "", &headers);
        let refused = Answer { status: 401, headers: Vec::new(), body: Vec::new() };
        let original = forward::original(&req).ok();
        let judged = Judged { req: &req, original: original.as_ref(), overrides: "", front: false };
        let answer = browser.refused(refused, &GuardError::MissingToken, &judged, &Credential::None, BrowserMode::StepUp);
        let target = header(&answer, "x-reauth-redirect");
        // Every original URI that the proxy could send gets a redirect...
        let target = target.expect("a redirect for a browser navigation");
        prop_assert_eq!(answer.status, if redirect_as { 401 } else { 302 });
        // ...to this origin's /reauth/start, whose rd is a path of it.
        let prefix = format!("{PUBLIC}/reauth/start?rd=");
        prop_assert!(target.starts_with(&prefix), "{}", target);
        let query = &target[format!("{PUBLIC}/reauth/start?").len()..];
        let rds: Vec<String> = url::form_urlencoded::parse(query.as_bytes())
            .map(|(_, v)| v.into_owned())
            .collect();
        prop_assert_eq!(rds.len(), 1);
        prop_assert!(check_return_to(&rds[0]).is_ok(), "{:?}", rds[0]);
        // A URI that is a good place to return to is kept whole.
        if check_return_to(&uri).is_ok() {
            prop_assert_eq!(&rds[0], &uri);
        }
    }

    /// `rd` survives the start URL's encoding exactly.
    #[test]
    fn the_start_url_carries_rd_exactly(rd in "/[!-~]{0,100}") {
        let (_, browser, _) = fixture();
        let url = browser.start_url(&rd, "");
        let query = url.split_once('?').unwrap().1;
        let back: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        prop_assert_eq!(back, vec![("rd".to_owned(), rd)]);
    }

    /// Whatever the cookies and headers, reading the credential never
    /// panics, and a state change with the session cookie passes only with
    /// a same-origin `Sec-Fetch-Site` or `Origin`.
    #[test]
    fn cookie_sessions_need_a_same_origin_proof(
        method in prop_oneof![Just("GET".to_owned()), Just("POST".to_owned()), Just("DELETE".to_owned()), "[A-Z]{1,7}"],
        cookies in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..60), 0..3),
        with_session in any::<bool>(),
        origin in proptest::option::of(prop_oneof![Just(PUBLIC.to_owned()), Just("https://evil.example".to_owned()), Just("null".to_owned()), "[ -~]{0,30}"]),
        fetch_site in proptest::option::of(prop_oneof![Just("same-origin"), Just("same-site"), Just("cross-site"), Just("none"), Just("")]),
    ) {
        let (_, browser, _) = fixture();
        let mut cookie_values = cookies.clone();
        if with_session {
            cookie_values.push(b"reauth_id_token=eyJ.x.y".to_vec());
        }
        let mut headers: Vec<(&str, &[u8])> = vec![("x-original-method", method.as_bytes())];
        for c in &cookie_values {
            headers.push(("cookie", c));
        }
        if let Some(o) = &origin {
            headers.push(("origin", o.as_bytes()));
        }
        if let Some(f) = fetch_site {
            headers.push(("sec-fetch-site", f.as_bytes()));
        }
        let req = request("GET", "/verify", "", &headers);
        let original = forward::original(&req).ok();
        match browser.credential(&Judged { req: &req, original: original.as_ref(), overrides: "", front: false }) {
            Ok(Credential::Session(_)) => {
                let safe = matches!(method.as_str(), "GET" | "HEAD" | "OPTIONS" | "TRACE");
                let proven = match fetch_site {
                    Some(f) => f == "same-origin" || f == "none",
                    None => origin.as_deref() == Some(PUBLIC),
                };
                prop_assert!(safe || proven, "{method} {origin:?} {fetch_site:?}");
            }
            Ok(_) | Err(GuardError::CrossSiteRequest) => {}
            Err(e) => prop_assert!(false, "unexpected {e:?}"),
        }
    }

    /// The /reauth/ endpoints answer any query and path without panicking,
    /// and never redirect a browser off this origin except to the issuer.
    #[test]
    fn the_endpoints_take_any_query(
        path in prop_oneof![Just("/reauth/start".to_owned()), Just("/reauth/sign-in".to_owned()), Just("/reauth/callback".to_owned()), Just("/reauth/sign-out".to_owned()), "/reauth/[ -~]{0,12}"],
        method in prop_oneof![Just("GET"), Just("POST"), Just("HEAD"), Just("PUT")],
        query in "[ -~]{0,120}",
    ) {
        let (rt, browser, issuer) = fixture();
        let headers: Vec<(&str, &[u8])> = vec![("accept", b"text/html"), ("host", b"app.example.com")];
        let req = request(method, &path, &query, &headers);
        let answer = rt.block_on(browser.endpoint(&req, None, &Requirement::none()));
        if let Some(to) = header(&answer, "location") {
            prop_assert!(
                to.starts_with(issuer.issuer()) || (to.starts_with('/') && check_return_to(&to).is_ok()),
                "{} {}?{} -> {}", method, path, query, to
            );
        }
    }
}
