//! The browser step-up in a real browser: headless Chromium (WebDriver,
//! `tests/support/chromium.rs`) against the npm `oidc-provider`
//! (`tests/support/provider.rs`), for each step-up example app (actix
//! `examples/stepup.rs`, axum `examples/stepup_axum.rs`: the same flags,
//! routes and answers, so one set of cases runs against both).
//!
//! A hand-written HTTP client (tests/stepup_e2e.rs) proves the requests;
//! this proves what a browser makes of the answers: it follows the
//! redirects, stores and sends the cookies by their flags (SameSite=Lax
//! on the provider's redirect back included) and lands on the page.
#![cfg(all(unix, feature = "stepup"))]

mod support;

use serde_json::json;
use support::chromium::{Chromium, Landed};
use support::free_port;
use support::provider::{Example, Provider};

/// The session cookie's documented name (README "Browser apps";
/// `StepUpConfig::session_cookie`).
const SESSION: &str = "reauth_id_token";
/// The documented prefix of the pending step-up cookies
/// (`<prefix>.<state>`; `StepUpConfig::pending_cookie_prefix`).
const PENDING: &str = "reauth-stepup.";

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// A browser signed in to the example `name` through the provider with a
/// login an hour old (a long-lived session); the route's `--max-age` is
/// 300 s. `None` when the browser or the provider tests are skipped.
struct Signed {
    op: Provider,
    app: Example,
    browser: Chromium,
}

async fn signed_in(name: &str) -> Option<Signed> {
    Provider::available()?;
    let browser = Chromium::start().await?;
    let port = free_port();
    let op = Provider::start(
        "example-app",
        Some("s3cret"),
        &format!("http://127.0.0.1:{port}/callback"),
    );
    let app = Example::start_named(
        name,
        port,
        &[
            "--issuer",
            &op.issuer,
            "--client-id",
            "example-app",
            "--client-secret",
            "s3cret",
            "--max-age",
            "300",
        ],
    );
    op.next_login(json!({ "sub": "alice", "auth_time": now() - 3600 }))
        .await;
    let page = browser.goto(&app.url("/login")).await;
    assert_eq!(page.url, app.url("/account"), "{page:#?}");
    assert_eq!(page.status, 200, "{page:#?}");
    assert!(page.text.contains("Signed in as alice"), "{}", page.text);
    assert_eq!(op.logins().await, 1);
    Some(Signed { op, app, browser })
}

/// The session cookie's value as the browser keeps it.
async fn session(s: &Signed) -> String {
    s.browser
        .cookie(SESSION)
        .await
        .unwrap_or_else(|| panic!("no {SESSION} cookie"))
        .value()
        .to_owned()
}

/// Asks for `/account/delete` with the hour-old session, the provider
/// logging alice in anew: the browser ends on the page it asked for.
async fn step_up(s: &Signed) -> Landed {
    s.op.next_login(json!({ "sub": "alice", "auth_time": null }))
        .await;
    let page = s.browser.goto(&s.app.url("/account/delete")).await;
    assert_eq!(page.url, s.app.url("/account/delete"), "{page:#?}");
    assert_eq!(page.status, 200, "{page:#?}");
    assert!(page.text.contains("Delete your account?"), "{}", page.text);
    assert!(page.text.contains("This deletes alice."), "{}", page.text);
    page
}

/// An hour-old session asks for `/account/delete`: sent to the provider
/// with the route's demands, logged in anew, back on the page it asked for.
async fn a_stale_session_steps_up_at_the_provider_and_comes_back(name: &str) {
    let Some(s) = signed_in(name).await else {
        return;
    };
    let old = session(&s).await;
    let page = step_up(&s).await;
    // On the way: the provider's authorization endpoint with the route's
    // demands, then the app's callback.
    let authorize = page
        .hops
        .requested_url(&format!("{}/auth?", s.op.issuer))
        .unwrap_or_else(|| panic!("the browser never went to the provider: {page:#?}"));
    let q = support::browser::query(authorize);
    let param = |k: &str| q.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    assert_eq!(param("max_age"), Some("300"), "{authorize}");
    assert_eq!(param("prompt"), Some("login"), "{authorize}");
    assert_eq!(param("code_challenge_method"), Some("S256"), "{authorize}");
    assert_eq!(param("login_hint"), Some("alice"), "{authorize}");
    assert!(
        page.hops.requested_url(&s.app.url("/callback?")).is_some(),
        "{page:#?}"
    );
    assert_eq!(s.op.logins().await, 2, "the provider logged alice in again");
    assert_ne!(session(&s).await, old, "the new login is the session now");
}

/// The cookies as the browser stored them: the session cookie's documented
/// name and flags, the pending step-up's, and none left once used.
async fn the_cookies_have_the_documented_names_and_flags(name: &str) {
    let Some(s) = signed_in(name).await else {
        return;
    };
    let page = step_up(&s).await;
    let cookie = s.browser.cookie(SESSION).await.unwrap();
    assert_eq!(cookie.http_only(), Some(true), "{cookie:?}");
    assert_eq!(
        cookie.same_site().map(|v| v.to_string()).as_deref(),
        Some("Lax"),
        "{cookie:?}"
    );
    assert_eq!(cookie.path(), Some("/"), "{cookie:?}");
    // http: no Secure, no __Host- prefix (they come with an https redirect URI).
    assert_ne!(cookie.secure(), Some(true), "{cookie:?}");
    // The pending step-up was set on the way (HttpOnly, Lax, for the
    // callback only) and is gone once used.
    let pending = page.hops.cookies_set(PENDING);
    assert_eq!(pending.len(), 1, "{page:#?}");
    let flags = pending[0].to_ascii_lowercase();
    for flag in ["httponly", "samesite=lax", "path=/callback"] {
        assert!(flags.contains(flag), "{flag} missing from {}", pending[0]);
    }
    let left: Vec<_> = s
        .browser
        .cookies()
        .await
        .into_iter()
        .filter(|c| c.name().starts_with(PENDING))
        .collect();
    assert!(left.is_empty(), "a used pending step-up stayed: {left:?}");
}

/// The provider answers the step-up with an older login: refused on the
/// callback, the browser stays out of the page and the session as it was.
async fn a_login_older_than_the_start_is_refused(name: &str) {
    let Some(s) = signed_in(name).await else {
        return;
    };
    let old = session(&s).await;
    // (auth_time age, the refusal): the login of an hour ago fails the
    // route's max_age; one of 120 s ago passes it but predates the step-up's
    // start (auth_time >= began_at is the proof of a new login).
    for (logins, (age, code)) in [
        (3600, "authentication_too_old"),
        (120, "reauthentication_not_proven"),
    ]
    .into_iter()
    .enumerate()
    {
        s.op.next_login(json!({ "sub": "alice", "auth_time": now() - age }))
            .await;
        let page = s.browser.goto(&s.app.url("/account/delete")).await;
        assert_eq!(
            s.op.logins().await,
            2 + logins as u64,
            "the browser went to the provider"
        );
        assert!(page.url.starts_with(&s.app.url("/callback?")), "{page:#?}");
        assert_eq!(page.status, 403, "{page:#?}");
        assert!(page.text.contains("Sign-in failed"), "{}", page.text);
        assert!(page.text.contains(code), "{code}: {}", page.text);
        assert!(!page.text.contains("Delete your account?"), "{}", page.text);
        assert_eq!(session(&s).await, old, "the old session stays as it was");
    }
}

/// The callback URL the provider sent the browser to, visited again after
/// it was used: 400 `invalid_state`, the session untouched.
async fn a_replayed_callback_is_refused(name: &str) {
    let Some(s) = signed_in(name).await else {
        return;
    };
    let page = step_up(&s).await;
    let callback = page
        .hops
        .requested_url(&s.app.url("/callback?"))
        .unwrap_or_else(|| panic!("no callback on the way: {page:#?}"))
        .to_owned();
    let stepped = session(&s).await;
    let again = s.browser.goto(&callback).await;
    assert_eq!(again.url, callback, "{again:#?}");
    assert_eq!(again.status, 400, "{again:#?}");
    assert!(again.text.contains("Sign-in failed"), "{}", again.text);
    assert!(again.text.contains("invalid_state"), "{}", again.text);
    assert_eq!(session(&s).await, stepped, "the session is untouched");
    // And the fresh session still opens the page.
    let page = s.browser.goto(&s.app.url("/account/delete")).await;
    assert_eq!(
        (page.url.as_str(), page.status),
        (s.app.url("/account/delete").as_str(), 200),
        "{page:#?}"
    );
}

/// The cases, as `#[tokio::test]`s in a module named after the app.
macro_rules! cases {
    ($module:ident, $example:literal) => {
        mod $module {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn a_stale_session_steps_up_at_the_provider_and_comes_back() {
                super::a_stale_session_steps_up_at_the_provider_and_comes_back($example).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn the_cookies_have_the_documented_names_and_flags() {
                super::the_cookies_have_the_documented_names_and_flags($example).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn a_login_older_than_the_start_is_refused() {
                super::a_login_older_than_the_start_is_refused($example).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn a_replayed_callback_is_refused() {
                super::a_replayed_callback_is_refused($example).await;
            }
        }
    };
}

// The actix example (examples/stepup.rs).
cases!(actix_stepup, "stepup");
// The axum twin (examples/stepup_axum.rs).
cases!(axum_stepup_axum, "stepup_axum");
