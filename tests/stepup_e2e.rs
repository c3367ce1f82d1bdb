//! The step-up example (`cargo run --example stepup`) driven by a
//! browser-like client, on the embedded test issuer and against a real
//! OpenID provider (npm `oidc-provider`); and the library's step-up
//! against that provider where it must refuse.
#![cfg(all(unix, feature = "stepup"))]

mod support;

use std::time::Duration;

use reauth::stepup::{Callback, StepUp, StepUpConfig, StepUpError, StepUpUser};
use reauth::{Requirement, Verifier, VerifierConfig};
use serde_json::json;
use support::browser::{Browser, Page, query, urlencode};
use support::free_port;
use support::provider::{Example, Provider};

const SESSION: &str = "reauth_id_token";

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

fn param(url: &str, name: &str) -> Option<String> {
    query(url)
        .into_iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v)
}

fn last(hops: &[Page]) -> &Page {
    hops.last().unwrap()
}

/// Each example case runs against both apps: the actix `stepup` example
/// and its axum twin `stepup_axum`, which take the same flags, serve the
/// same routes and must answer alike.
macro_rules! both_examples {
    ($case:ident: $actix:ident, $axum:ident) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $actix() {
            $case("stepup").await;
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $axum() {
            $case("stepup_axum").await;
        }
    };
}

both_examples!(works_end_to_end: actix_example_works_end_to_end_on_the_embedded_issuer, axum_example_works_end_to_end_on_the_embedded_issuer);
both_examples!(steps_up_through_a_real_provider: actix_example_steps_up_through_a_real_provider, axum_example_steps_up_through_a_real_provider);
both_examples!(another_user_is_403: actix_example_another_user_at_a_real_provider_is_403, axum_example_another_user_at_a_real_provider_is_403);

async fn works_end_to_end(example: &str) {
    let app = Example::start_named(example, free_port(), &["--max-age", "300"]);
    let browser = Browser::new();
    // Public page; not signed in: /account sends to /login, which signs in.
    assert_eq!(browser.get(&app.url("/")).await.status, 200);
    let hops = browser.follow(&app.url("/account")).await;
    assert_eq!(hops[0].location.as_deref(), Some("/login"));
    let page = last(&hops);
    assert_eq!(page.status, 200, "{hops:#?}");
    assert!(
        page.body.contains("Signed in as <b>user-1</b>"),
        "{}",
        page.body
    );
    assert!(browser.cookie(&app.base, SESSION).is_some());
    // A fresh login: the confirmation form, then the deletion.
    let confirm = browser.get(&app.url("/account/delete")).await;
    assert_eq!(confirm.status, 200, "{confirm:#?}");
    assert!(
        confirm
            .body
            .contains("<form method=post action=/account/delete>")
    );
    let deleted = browser.post(&app.url("/account/delete"), "").await;
    assert_eq!(deleted.status, 200, "{deleted:#?}");
    assert!(deleted.body.contains("Deleted <b>user-1</b>"));
    // An API client without a session: the challenge, not a redirect.
    let api = Browser::new();
    for (method, path) in [
        (reqwest::Method::GET, "/account/delete"),
        (reqwest::Method::POST, "/account/delete"),
    ] {
        let page = api
            .request(method, &app.url(path), Some("application/json"), None)
            .await;
        assert_eq!(page.status, 401, "{page:#?}");
        assert_eq!(page.header("www-authenticate"), Some("Bearer"));
    }
    // With the session, JSON answers JSON.
    let page = browser.get_json(&app.url("/account/delete")).await;
    assert_eq!(page.status, 200);
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&page.body).unwrap()["sub"],
        "user-1"
    );
    // Log out: the session is gone, /account sends to /login again.
    let out = browser.post(&app.url("/logout"), "").await;
    assert_eq!(out.status, 303);
    let page = browser.get(&app.url("/account")).await;
    assert_eq!(
        (page.status, page.location.as_deref()),
        (302, Some("/login"))
    );
}

/// Follows `url` through the provider until the redirect to `callback`
/// (not requested); returns that URL.
async fn to_callback(browser: &Browser, url: &str, callback: &str) -> String {
    let mut next = url.to_owned();
    for _ in 0..20 {
        let page = browser.get(&next).await;
        assert_eq!(page.status / 100, 3, "the provider stopped at {page:#?}");
        next = page.next().unwrap();
        if next.starts_with(callback) {
            return next;
        }
    }
    panic!("no redirect to {callback}");
}

/// The provider with the example as its client (confidential with a
/// secret, else public), `--max-age 300`; alice's next login is an hour old
/// (a long-lived session).
async fn example_at_provider(example: &str, secret: Option<&str>) -> (Provider, Example) {
    let port = free_port();
    let op = Provider::start(
        "example-app",
        secret,
        &format!("http://127.0.0.1:{port}/callback"),
    );
    let mut args = vec![
        "--issuer",
        &op.issuer,
        "--client-id",
        "example-app",
        "--max-age",
        "300",
    ];
    if let Some(s) = secret {
        args.extend(["--client-secret", s]);
    }
    let app = Example::start_named(example, port, &args);
    op.next_login(json!({ "sub": "alice", "auth_time": now() - 3600 }))
        .await;
    (op, app)
}

async fn steps_up_through_a_real_provider(example: &str) {
    let Some(()) = Provider::available() else {
        return;
    };
    let (op, app) = example_at_provider(example, Some("s3cret")).await;
    let browser = Browser::new();
    let hops = browser.follow(&app.url("/login")).await;
    assert_eq!(last(&hops).status, 200, "{hops:#?}");
    assert!(last(&hops).body.contains("Signed in as <b>alice</b>"));
    assert_eq!(op.logins().await, 1);
    let old = browser.cookie(&app.base, SESSION).unwrap();

    // Deleting needs a login at most 300 s old: sent to the provider.
    let page = browser.get(&app.url("/account/delete")).await;
    assert_eq!(page.status, 302, "{page:#?}");
    let to = page.next().unwrap();
    assert!(to.starts_with(&op.issuer), "{to}");
    assert_eq!(param(&to, "max_age").as_deref(), Some("300"));
    assert_eq!(param(&to, "prompt").as_deref(), Some("login"));
    assert_eq!(param(&to, "login_hint").as_deref(), Some("alice"));
    assert_eq!(
        param(&to, "id_token_hint"),
        None,
        "the session token stays out of URLs"
    );
    // The API meanwhile gets the challenge.
    let api = browser.get_json(&app.url("/account/delete")).await;
    assert_eq!(api.status, 401);
    assert!(
        api.header("www-authenticate")
            .unwrap()
            .contains("max_age=\"300\"")
    );

    // The provider re-authenticates alice; back to the confirmation form.
    op.next_login(json!({ "sub": "alice", "auth_time": null }))
        .await;
    let hops = browser.follow(&to).await;
    let page = last(&hops);
    assert_eq!(page.status, 200, "{hops:#?}");
    assert!(page.url.ends_with("/account/delete"), "{}", page.url);
    assert!(page.body.contains("Delete your account?"));
    assert_eq!(op.logins().await, 2, "the provider logged alice in again");
    assert_ne!(browser.cookie(&app.base, SESSION).unwrap(), old);
    let deleted = browser.post(&app.url("/account/delete"), "").await;
    assert_eq!(deleted.status, 200, "{deleted:#?}");
    assert!(deleted.body.contains("Deleted <b>alice</b>"));

    // A cross-site form post (another Origin) is refused.
    let forged = reqwest::Client::new()
        .post(app.url("/account/delete"))
        .header("origin", "https://evil.example")
        .header(
            "cookie",
            format!("{SESSION}={}", browser.cookie(&app.base, SESSION).unwrap()),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 403);
}

/// Another user at the provider: 403, and the session stays.
async fn another_user_is_403(example: &str) {
    let Some(()) = Provider::available() else {
        return;
    };
    let (op, app) = example_at_provider(example, None).await;
    let browser = Browser::new();
    assert_eq!(last(&browser.follow(&app.url("/login")).await).status, 200);
    let old = browser.cookie(&app.base, SESSION).unwrap();
    op.next_login(json!({ "sub": "mallory", "auth_time": null }))
        .await;
    let hops = browser.follow(&app.url("/account/delete")).await;
    let page = last(&hops);
    assert_eq!(page.status, 403, "{hops:#?}");
    assert!(page.body.contains("subject_mismatch"), "{}", page.body);
    assert_eq!(
        browser.cookie(&app.base, SESSION).unwrap(),
        old,
        "alice's session is untouched"
    );
}

/// The callback the provider sent the browser to, parsed.
fn callback_of(url: &str) -> Callback {
    Callback::parse(url::Url::parse(url).unwrap().query().unwrap(), 8192).unwrap()
}

/// A step-up client of the provider, in this process (the callback is
/// caught before it is requested).
async fn client(op: &Provider, callback: &str, prompt_login: bool) -> StepUp {
    let verifier = Verifier::discover(
        VerifierConfig::builder(&op.issuer)
            .audience("lib-app")
            .build()
            .unwrap(),
    )
    .await
    .unwrap();
    let config = StepUpConfig::builder("lib-app", callback)
        .cookie_key(&[42; 32])
        .prompt_login(prompt_login)
        .build()
        .unwrap();
    StepUp::new(verifier, config).unwrap()
}

/// Signs `browser` in at the provider as `sub` (a session `age` seconds old).
async fn sign_in(
    op: &Provider,
    step: &StepUp,
    browser: &Browser,
    callback: &str,
    sub: &str,
    age: i64,
) -> (String, String) {
    op.next_login(json!({ "sub": sub, "auth_time": now() - age }))
        .await;
    let begun = step.begin(&Requirement::none(), "/", None).await.unwrap();
    let back = to_callback(browser, &begun.location, callback).await;
    let cb = callback_of(&back);
    let finished = step.finish(&cb, &begun.pending).await.unwrap();
    (finished.id_token, finished.verified.subject().to_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_real_provider_that_keeps_an_older_login_is_refused() {
    let Some(()) = Provider::available() else {
        return;
    };
    let callback = format!("http://127.0.0.1:{}/callback", free_port());
    let op = Provider::start("lib-app", None, &callback);
    // Without prompt=login, a provider session younger than max_age is
    // reused: the login it returns predates the step-up.
    let step = client(&op, &callback, false).await;
    let browser = Browser::new();
    let (token, sub) = sign_in(&op, &step, &browser, &callback, "bob", 120).await;
    assert_eq!(sub, "bob");
    let five = Requirement::max_age(Duration::from_secs(300));
    let user = StepUpUser::new("bob", Some(token));
    let begun = step
        .begin(&five, "/account/delete", Some(&user))
        .await
        .unwrap();
    assert_eq!(param(&begun.location, "prompt"), None);
    let back = to_callback(&browser, &begun.location, &callback).await;
    assert_eq!(
        op.logins().await,
        1,
        "the provider did not log bob in again"
    );
    let cb = callback_of(&back);
    let e = step.finish(&cb, &begun.pending).await.unwrap_err();
    assert!(matches!(e, StepUpError::NotReauthenticated { .. }), "{e}");
    assert_eq!((e.status(), e.code()), (403, "reauthentication_not_proven"));

    // With prompt=login (the default) the same provider does log bob in.
    let step = client(&op, &callback, true).await;
    let begun = step
        .begin(&five, "/account/delete", Some(&user))
        .await
        .unwrap();
    assert_eq!(param(&begun.location, "prompt").as_deref(), Some("login"));
    op.next_login(json!({ "sub": "bob", "auth_time": null }))
        .await;
    let back = to_callback(&browser, &begun.location, &callback).await;
    let cb = callback_of(&back);
    let done = step.finish(&cb, &begun.pending).await.unwrap();
    assert!(done.verified.auth_time().unwrap() >= begun.pending.began_at());
    assert_eq!(op.logins().await, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_pkce_verifier_at_a_real_provider_surfaces_its_error() {
    let Some(()) = Provider::available() else {
        return;
    };
    let callback = format!("http://127.0.0.1:{}/callback", free_port());
    let op = Provider::start("lib-app", None, &callback);
    let step = client(&op, &callback, true).await;
    let browser = Browser::new();
    let a = step.begin(&Requirement::none(), "/", None).await.unwrap();
    let b = step.begin(&Requirement::none(), "/", None).await.unwrap();
    let back = to_callback(&browser, &a.location, &callback).await;
    // The code of `a` injected into `b`'s callback (same state as b).
    let injected = format!(
        "code={}&state={}&iss={}",
        param(&back, "code").unwrap(),
        b.pending.state(),
        urlencode(&op.issuer)
    );
    let cb = Callback::parse(&injected, 8192).unwrap();
    let e = step.finish(&cb, &b.pending).await.unwrap_err();
    assert_eq!(
        (e.status(), e.code()),
        (400, "token_exchange_failed"),
        "{e}"
    );
    assert!(e.to_string().contains("invalid_grant"), "{e}");
    // The genuine pair still works (PKCE did not burn the code).
    let cb = callback_of(&back);
    assert!(step.finish(&cb, &a.pending).await.is_ok());
}

/// What of an answer must be the same from both examples: the status, the
/// headers clients act on, cookie names and attributes (not their random
/// values), the redirect target (the issuer's origin and the random
/// parameters blanked) and the body (digits blanked: times differ).
fn normalized(page: &Page, app: &Example, issuer: &str) -> String {
    let blank_digits = |s: &str| {
        s.chars()
            .map(|c| if c.is_ascii_digit() { '9' } else { c })
            .collect::<String>()
    };
    let location = page.location.as_deref().map(|l| {
        let l = l.replace(issuer, "<issuer>");
        match l.split_once('?') {
            Some((path, query)) => {
                let mut names: Vec<String> = url::form_urlencoded::parse(query.as_bytes())
                    .map(|(k, v)| match &*k {
                        "state" | "nonce" | "code_challenge" | "login_hint" | "id_token_hint" => {
                            format!("{k}=*")
                        }
                        _ => format!("{k}={}", v.replace(&app.base, "<app>")),
                    })
                    .collect();
                names.sort();
                format!("{path}?{}", names.join("&"))
            }
            None => l,
        }
    });
    let mut cookies: Vec<String> = page
        .set_cookies
        .iter()
        .map(|c| {
            let (pair, attributes) = c.split_once(';').unwrap_or((c, ""));
            let name = pair.split('=').next().unwrap_or_default();
            // A pending cookie's name holds the random state.
            let name = name.split('.').next().unwrap_or_default();
            let mut attributes: Vec<String> = attributes
                .split(';')
                .map(|a| a.trim().to_ascii_lowercase())
                .filter(|a| !a.starts_with("expires="))
                .collect();
            attributes.sort();
            format!("{name}; {}", attributes.join("; "))
        })
        .collect();
    cookies.sort();
    let header = |name: &str| page.header(name).unwrap_or("-").to_owned();
    format!(
        "{} | type {} | cache {} | challenge {} | location {:?} | cookies {:?} | body {}",
        page.status,
        header("content-type"),
        header("cache-control"),
        header("www-authenticate"),
        location,
        cookies,
        blank_digits(&page.body.replace(&app.base, "<app>"))
    )
}

/// The answers of one example to the same requests, signed out and then
/// signed in (a fresh login on the embedded issuer).
async fn answers(example: &str) -> Vec<(String, String)> {
    use reqwest::Method;
    let app = Example::start_named(example, free_port(), &["--max-age", "300"]);
    // The embedded issuer's address, from the sign-in redirect.
    let browser = Browser::new();
    let login = browser.get(&app.url("/login")).await;
    let to = login.location.clone().unwrap();
    let issuer = to.split("/authorize").next().unwrap().to_owned();
    let html = "text/html,application/xhtml+xml,*/*;q=0.8";
    let json = "application/json";
    let requests: Vec<(Method, &str, Option<&str>, Option<&str>)> = vec![
        (Method::GET, "/", Some(html), None),
        (Method::POST, "/", Some(html), None),
        (Method::GET, "/nowhere", Some(html), None),
        (Method::GET, "/login", Some(html), None),
        (Method::POST, "/login", Some(html), None),
        (
            Method::GET,
            "/login?return_to=/account/delete",
            Some(html),
            None,
        ),
        (
            Method::GET,
            "/login?return_to=https://evil.example/",
            Some(html),
            None,
        ),
        (
            Method::GET,
            "/login?return_to=//evil.example/",
            Some(json),
            None,
        ),
        (Method::GET, "/account", Some(html), None),
        (Method::GET, "/account", Some(json), None),
        (Method::PUT, "/account", Some(html), None),
        (Method::GET, "/account/delete", Some(html), None),
        (Method::GET, "/account/delete", Some(json), None),
        (Method::GET, "/account/delete", None, None),
        (Method::HEAD, "/account/delete", Some(html), None),
        (Method::POST, "/account/delete", Some(html), None),
        (Method::POST, "/account/delete", Some(json), None),
        (
            Method::POST,
            "/account/delete",
            Some(html),
            Some("https://evil.example"),
        ),
        (Method::DELETE, "/account/delete", Some(html), None),
        (Method::GET, "/callback", Some(html), None),
        (Method::GET, "/callback", Some(json), None),
        (Method::GET, "/callback?code=c&state=s", Some(html), None),
        (
            Method::GET,
            "/callback?error=access_denied&state=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            Some(html),
            None,
        ),
        (
            Method::GET,
            "/callback?code=a&code=b&state=s",
            Some(json),
            None,
        ),
        (Method::POST, "/callback", Some(html), None),
        (Method::GET, "/logout", Some(html), None),
        (
            Method::POST,
            "/logout",
            Some(html),
            Some("https://evil.example"),
        ),
    ];
    let mut out = Vec::new();
    let ask = async |who: &str, browser: &Browser, out: &mut Vec<(String, String)>| {
        for (method, path, accept, origin) in &requests {
            let page = match origin {
                // A cross-site form post: another site's Origin, the cookies.
                Some(origin) => {
                    let mut req = reqwest::Client::new()
                        .request(method.clone(), app.url(path))
                        .header("origin", *origin)
                        .header("accept", accept.unwrap_or("*/*"));
                    if let Some(c) = browser.cookie(&app.base, SESSION) {
                        req = req.header("cookie", format!("{SESSION}={c}"));
                    }
                    let resp = req.send().await.unwrap();
                    Page {
                        url: app.url(path),
                        status: resp.status().as_u16(),
                        location: None,
                        set_cookies: Vec::new(),
                        headers: resp.headers().clone(),
                        body: resp.text().await.unwrap_or_default(),
                    }
                }
                None => {
                    browser
                        .request(method.clone(), &app.url(path), *accept, None)
                        .await
                }
            };
            out.push((
                format!("{who} {method} {path} accept={accept:?} origin={origin:?}"),
                normalized(&page, &app, &issuer),
            ));
        }
    };
    ask("signed out", &Browser::new(), &mut out).await;
    let signed_in = Browser::new();
    let hops = signed_in.follow(&app.url("/login")).await;
    assert_eq!(last(&hops).status, 200, "{hops:#?}");
    ask("signed in", &signed_in, &mut out).await;
    out
}

/// The axum example is the actix one's twin: every answer to the same
/// requests matches (status, challenge, cookies, redirects, bodies).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_examples_answer_alike() {
    let actix = answers("stepup").await;
    let axum = answers("stepup_axum").await;
    let differ: Vec<String> = actix
        .iter()
        .zip(&axum)
        .filter(|(a, b)| a.1 != b.1)
        .map(|(a, b)| format!("{}\n  actix: {}\n  axum:  {}", a.0, a.1, b.1))
        .collect();
    assert!(
        differ.is_empty(),
        "the examples differ:\n{}",
        differ.join("\n")
    );
    assert_eq!(actix.len(), axum.len());
}
