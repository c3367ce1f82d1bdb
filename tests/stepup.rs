//! The browser step-up round trip against the test issuer's authorization
//! and token endpoints: a real actix-web server on loopback, a
//! browser-like client with a cookie jar, every hop inspected.
#![cfg(feature = "stepup")]

mod support;

use std::sync::Arc;
use std::time::Duration;

use actix_web::{App, HttpResponse, HttpServer, web};
use reauth::actix::{MaybeReauthenticated, Reauthenticated};
use reauth::stepup::{
    Callback, MemoryPendingStore, StateProblem, StepUp, StepUpConfigBuilder, StepUpError,
    StepUpUser, UserHint,
};
use reauth::testing::{TEST_CLIENT_ID, TestIssuer, TestLogin};
use reauth::{Requirement, TokenSource, Verifier};
use support::browser::{Browser, Page, query, urlencode};

const SESSION: &str = "reauth_id_token";

async fn whoami(user: Reauthenticated) -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({
        "sub": user.subject(), "auth_time": user.auth_time(), "acr": user.claims.acr,
    }))
}

async fn maybe(user: MaybeReauthenticated) -> HttpResponse {
    HttpResponse::Ok().body(
        user.0
            .map_or("anonymous".into(), |u| u.subject().to_owned()),
    )
}

struct Harness {
    base: String,
    issuer: TestIssuer,
    verifier: Verifier,
    step: StepUp,
}

impl Harness {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// A session cookie holding a token of `user-1` logged in `secs` ago.
    fn stale_session(&self, browser: &Browser, secs: i64) -> String {
        let token = self.issuer.token().auth_time_ago(secs).sign();
        browser.set_cookie(&self.base, SESSION, &token);
        token
    }

    /// Signs the browser in (`/login`), following every hop.
    async fn sign_in(&self, browser: &Browser) -> Vec<Page> {
        browser.follow(&self.url("/login?return_to=/account")).await
    }
}

async fn start(configure: impl FnOnce(StepUpConfigBuilder) -> StepUpConfigBuilder) -> Harness {
    start_with(configure, |_| {}).await
}

async fn start_with(
    configure: impl FnOnce(StepUpConfigBuilder) -> StepUpConfigBuilder,
    extra: impl Fn(&mut web::ServiceConfig) + Send + Clone + 'static,
) -> Harness {
    let issuer = TestIssuer::start().await;
    let verifier = issuer.verifier().await;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let config = configure(issuer.step_up_config(&format!("{base}/callback")))
        .build()
        .unwrap();
    let step = StepUp::new(verifier.clone(), config).unwrap();
    let (v, s) = (verifier.clone(), step.clone());
    let five_min = Requirement::max_age(Duration::from_secs(300));
    let server = HttpServer::new(move || {
        let five_min = five_min.clone();
        let extra = extra.clone();
        App::new()
            .app_data(v.clone())
            .app_data(s.clone())
            .route("/login", web::get().to(reauth::actix::sign_in))
            .route("/callback", web::get().to(reauth::actix::stepup_callback))
            .route("/logout", web::post().to(reauth::actix::sign_out))
            .service(
                web::resource("/account")
                    .app_data(Requirement::none())
                    .route(web::get().to(whoami)),
            )
            .service(
                web::resource("/home")
                    .app_data(Requirement::none())
                    .route(web::get().to(maybe)),
            )
            .service(
                web::resource("/account/delete")
                    .app_data(five_min.clone())
                    .route(web::get().to(whoami))
                    .route(web::post().to(whoami)),
            )
            .service(
                web::resource("/mfa")
                    .app_data(five_min.acr_values(["urn:loa:2"]).require_amr(["otp"]))
                    .route(web::get().to(whoami)),
            )
            .configure(|c| extra(c))
    })
    .workers(1)
    .listen(listener)
    .unwrap()
    .run();
    tokio::spawn(server);
    Harness {
        base,
        issuer,
        verifier,
        step,
    }
}

fn param<'a>(q: &'a [(String, String)], name: &str) -> Option<&'a str> {
    assert!(
        q.iter().filter(|(k, _)| k == name).count() <= 1,
        "{name} repeated"
    );
    q.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

fn json(page: &Page) -> serde_json::Value {
    serde_json::from_str(&page.body).unwrap_or_else(|_| panic!("not JSON: {page:#?}"))
}

#[tokio::test]
async fn a_fresh_session_passes_without_a_redirect() {
    let h = start(|c| c).await;
    let browser = Browser::new();
    let hops = h.sign_in(&browser).await;
    assert_eq!(hops.last().unwrap().status, 200, "{hops:#?}");
    assert_eq!(json(hops.last().unwrap())["sub"], "user-1");
    let page = browser.get(&h.url("/account/delete")).await;
    assert_eq!(page.status, 200, "{page:#?}");
    // The session cookie: HttpOnly, SameSite=Lax, Path=/, not Secure on http.
    let login = &hops[hops.len() - 2];
    let c = login
        .set_cookie(SESSION)
        .expect("the callback sets the session");
    assert_eq!(
        (c.http_only(), c.same_site(), c.path(), c.secure()),
        (
            Some(true),
            Some(actix_web::cookie::SameSite::Lax),
            Some("/"),
            None
        )
    );
    // A plain sign-in sends neither prompt nor a hint.
    let sent = &h.issuer.authorization_requests()[0];
    assert_eq!(
        (sent.get("prompt"), sent.get("id_token_hint")),
        (None, None)
    );
}

#[tokio::test]
async fn a_stale_login_is_sent_to_the_issuer_with_every_parameter() {
    let h = start(|c| c.scopes(["profile"]).user_hint(UserHint::IdToken)).await;
    let browser = Browser::new();
    let old = h.stale_session(&browser, 3600);
    let page = browser.get(&h.url("/mfa?x=1")).await;
    assert_eq!(page.status, 302, "{page:#?}");
    assert_eq!(page.header("cache-control"), Some("no-store"));
    let location = page.next().unwrap();
    assert!(
        location.starts_with(&h.issuer.url("/authorize?")),
        "{location}"
    );
    let q = query(&location);
    assert_eq!(param(&q, "response_type"), Some("code"));
    assert_eq!(param(&q, "client_id"), Some(TEST_CLIENT_ID));
    assert_eq!(param(&q, "redirect_uri"), Some(h.url("/callback").as_str()));
    assert_eq!(param(&q, "scope"), Some("openid profile"));
    assert_eq!(param(&q, "max_age"), Some("300"));
    assert_eq!(param(&q, "acr_values"), Some("urn:loa:2"));
    assert_eq!(param(&q, "prompt"), Some("login"));
    assert_eq!(param(&q, "id_token_hint"), Some(old.as_str()));
    assert_eq!(param(&q, "code_challenge_method"), Some("S256"));
    assert_eq!(param(&q, "code_challenge").unwrap().len(), 43);
    let state = param(&q, "state").unwrap();
    let nonce = param(&q, "nonce").unwrap();
    assert_eq!((state.len(), nonce.len()), (43, 43));
    assert_ne!(state, nonce);
    // The pending state: sealed, HttpOnly, SameSite=Lax, only for the callback.
    let pending = page
        .set_cookie(&format!("reauth-stepup.{state}"))
        .expect("a pending cookie named after the state");
    assert_eq!(
        (pending.http_only(), pending.same_site(), pending.path()),
        (
            Some(true),
            Some(actix_web::cookie::SameSite::Lax),
            Some("/callback")
        )
    );
    assert_eq!(
        pending.max_age(),
        Some(actix_web::cookie::time::Duration::seconds(600))
    );
    for secret in [nonce, "user-1", "/mfa"] {
        assert!(
            !pending.value().contains(secret),
            "the pending cookie shows {secret}"
        );
    }

    // The round trip: the issuer logs the same user in with MFA, the
    // callback sets the new token and returns to the original URL.
    h.issuer.set_login(
        TestLogin::user("user-1")
            .acr("urn:loa:2")
            .amr(["pwd", "otp"]),
    );
    let hops = browser.follow(&location).await;
    let callback = &hops[1];
    assert!(callback.url.starts_with(&h.url("/callback?")), "{hops:#?}");
    assert_eq!(callback.status, 302);
    assert_eq!(callback.location.as_deref(), Some("/mfa?x=1"));
    let new = callback.set_cookie(SESSION).unwrap();
    assert_ne!(new.value(), old);
    let removed = callback
        .set_cookie(&format!("reauth-stepup.{state}"))
        .unwrap();
    assert_eq!(removed.value(), "");
    let done = hops.last().unwrap();
    assert_eq!(done.status, 200, "{hops:#?}");
    assert_eq!(json(done)["acr"], "urn:loa:2");
    assert!(
        browser
            .cookies(&h.base)
            .iter()
            .all(|(n, _, _)| !n.starts_with("reauth-stepup"))
    );
    // The code went back once, with the PKCE verifier.
    let tokens = h.issuer.token_requests();
    assert_eq!(tokens.len(), 1);
    assert_eq!(tokens[0].get("grant_type"), Some("authorization_code"));
    assert_eq!(tokens[0].get("code_verifier").unwrap().len(), 43);
}

#[tokio::test]
async fn api_requests_get_the_challenge_not_a_redirect() {
    let h = start(|c| c).await;
    let browser = Browser::new();
    h.stale_session(&browser, 3600);
    for accept in ["application/json", "*/*", "text/html;q=0, application/json"] {
        let page = browser
            .request(
                reqwest::Method::GET,
                &h.url("/account/delete"),
                Some(accept),
                None,
            )
            .await;
        assert_eq!(page.status, 401, "{accept}: {page:#?}");
        let challenge = page.header("www-authenticate").unwrap();
        assert!(
            challenge.contains("insufficient_user_authentication"),
            "{challenge}"
        );
        assert!(challenge.contains("max_age=\"300\""), "{challenge}");
        assert!(page.set_cookies.is_empty());
    }
    // No session at all: a browser is sent to sign in, an API client gets 401.
    let anonymous = Browser::new();
    let page = anonymous.get(&h.url("/account/delete")).await;
    assert_eq!(page.status, 302);
    let q = query(&page.next().unwrap());
    // The route demands a login: even a sign-in must be a new one.
    assert_eq!(
        (param(&q, "prompt"), param(&q, "max_age")),
        (Some("login"), Some("300"))
    );
    let page = anonymous.get_json(&h.url("/account/delete")).await;
    assert_eq!(page.status, 401);
    // A route for anonymous users too never redirects an anonymous browser.
    let page = anonymous.get(&h.url("/home")).await;
    assert_eq!((page.status, page.body.as_str()), (200, "anonymous"));
}

/// Starts a step-up of a stale session and stops at the issuer's answer:
/// returns the callback URL and the browser holding the pending cookie.
async fn to_callback(h: &Harness, login: TestLogin) -> (Browser, String, String) {
    let browser = Browser::new();
    let old = h.stale_session(&browser, 3600);
    let page = browser.get(&h.url("/account/delete")).await;
    assert_eq!(page.status, 302, "{page:#?}");
    h.issuer.set_login(login);
    let at_issuer = browser.get(&page.next().unwrap()).await;
    assert_eq!(at_issuer.status, 302);
    (browser, at_issuer.next().unwrap(), old)
}

#[tokio::test]
async fn a_replayed_callback_is_refused() {
    let h = start(|c| c).await;
    let (browser, callback, _) = to_callback(&h, TestLogin::default()).await;
    let pending: Vec<_> = browser.cookies(&h.base);
    let first = browser.get(&callback).await;
    assert_eq!(first.status, 302, "{first:#?}");
    // The browser dropped the pending cookie; an attacker who kept it and
    // the callback URL replays both.
    let thief = Browser::new();
    for (name, value, _) in &pending {
        if name.starts_with("reauth-stepup.") {
            thief.set_cookie(&h.base, name, value);
        }
    }
    let replay = thief.get(&callback).await;
    assert_eq!(replay.status, 400, "{replay:#?}");
    assert!(replay.body.contains("invalid_state"), "{}", replay.body);
    assert!(replay.body.contains("replayed"), "{}", replay.body);
    assert!(replay.set_cookie(SESSION).is_none());
    // The same browser again: its pending cookie is gone.
    let again = browser.get(&callback).await;
    assert_eq!(again.status, 400);
    assert!(again.body.contains("missing"), "{}", again.body);
    assert_eq!(
        h.issuer.token_requests().len(),
        1,
        "the code went to the issuer once"
    );
}

#[tokio::test]
async fn a_tampered_or_moved_pending_cookie_is_refused() {
    let h = start(|c| c).await;
    let (browser, callback, _) = to_callback(&h, TestLogin::default()).await;
    let (name, value, _) = browser
        .cookies(&h.base)
        .into_iter()
        .find(|(n, _, _)| n.starts_with("reauth-stepup."))
        .unwrap();
    let mut bytes = value.into_bytes();
    let i = bytes.len() / 2;
    bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
    let forged = Browser::new();
    forged.set_cookie(&h.base, &name, &String::from_utf8(bytes).unwrap());
    let page = forged.get(&callback).await;
    assert_eq!(page.status, 400, "{page:#?}");
    assert!(page.body.contains("tampered"), "{}", page.body);
    // A genuine sealed value under another state's name does not open.
    let (b2, callback2, _) = to_callback(&h, TestLogin::default()).await;
    let (_, other_value, _) = b2
        .cookies(&h.base)
        .into_iter()
        .find(|(n, _, _)| n.starts_with("reauth-stepup."))
        .unwrap();
    let moved = Browser::new();
    moved.set_cookie(&h.base, &name, &other_value);
    let page = moved.get(&callback).await;
    assert_eq!(page.status, 400);
    assert!(page.body.contains("tampered"), "{}", page.body);
    // A state we never made is refused before anything is read.
    let q = query(&callback2);
    let code = param(&q, "code").unwrap();
    let page = b2
        .get(&h.url(&format!(
            "/callback?code={code}&state=forged&iss={}",
            h.issuer.issuer()
        )))
        .await;
    assert_eq!(page.status, 400);
    assert!(
        h.issuer.token_requests().is_empty(),
        "nothing reached the token endpoint"
    );
}

#[tokio::test]
async fn a_nonce_that_is_not_ours_is_refused() {
    let h = start(|c| c).await;
    let (browser, callback, old) = to_callback(&h, TestLogin::user("user-1").nonce("n")).await;
    let page = browser.get(&callback).await;
    assert_eq!(page.status, 400, "{page:#?}");
    assert!(page.body.contains("invalid_nonce"), "{}", page.body);
    assert_eq!(
        browser.cookie(&h.base, SESSION).as_deref(),
        Some(old.as_str())
    );
}

#[tokio::test]
async fn an_issuer_that_did_not_re_authenticate_is_refused() {
    let h = start(|c| c).await;
    // Within max_age, but before the step-up began (beyond the 30 s leeway).
    let (browser, callback, old) =
        to_callback(&h, TestLogin::user("user-1").auth_time_ago(120)).await;
    let page = browser.get(&callback).await;
    assert_eq!(page.status, 403, "{page:#?}");
    assert!(
        page.body.contains("reauthentication_not_proven"),
        "{}",
        page.body
    );
    assert_eq!(
        browser.cookie(&h.base, SESSION).as_deref(),
        Some(old.as_str())
    );
    // Older than max_age: the route's own check refuses it.
    let (browser, callback, _) =
        to_callback(&h, TestLogin::user("user-1").auth_time_ago(3600)).await;
    let page = browser.get(&callback).await;
    assert_eq!(page.status, 403);
    assert!(
        page.body.contains("authentication_too_old"),
        "{}",
        page.body
    );
    // Within the leeway: accepted (clocks differ by a few seconds).
    let (browser, callback, _) = to_callback(&h, TestLogin::user("user-1").auth_time_ago(20)).await;
    assert_eq!(browser.get(&callback).await.status, 302);
}

#[tokio::test]
async fn another_user_is_403_and_the_old_session_stays() {
    let h = start(|c| c).await;
    let (browser, callback, old) = to_callback(&h, TestLogin::user("mallory")).await;
    let page = browser.get(&callback).await;
    assert_eq!(page.status, 403, "{page:#?}");
    assert!(page.body.contains("subject_mismatch"), "{}", page.body);
    assert!(
        page.set_cookie(SESSION).is_none(),
        "the session is untouched"
    );
    assert_eq!(
        browser.cookie(&h.base, SESSION).as_deref(),
        Some(old.as_str())
    );
}

#[tokio::test]
async fn issuer_errors_become_typed_errors() {
    let h = start(|c| c).await;
    for (error, status) in [
        ("access_denied", 403),
        ("login_required", 403),
        ("interaction_required", 403),
        ("temporarily_unavailable", 503),
        ("invalid_scope", 502),
    ] {
        let (browser, callback, old) = to_callback(&h, TestLogin::error(error)).await;
        let page = browser.get(&callback).await;
        assert_eq!(page.status, status, "{error}: {page:#?}");
        assert!(page.body.contains(error), "{}", page.body);
        assert_eq!(
            browser.cookie(&h.base, SESSION).as_deref(),
            Some(old.as_str())
        );
    }
    // The core API names the kind.
    let begun = h.step.begin(&Requirement::none(), "/", None).await.unwrap();
    let cb = Callback::parse(
        &format!(
            "error=access_denied&state={}&iss={}",
            begun.pending.state(),
            h.issuer.issuer()
        ),
        8192,
    )
    .unwrap();
    let e = h.step.finish(&cb, &begun.pending).await.unwrap_err();
    assert!(matches!(
        e,
        StepUpError::Authorization {
            kind: reauth::stepup::AuthorizationErrorKind::AccessDenied,
            ..
        }
    ));
}

#[tokio::test]
async fn return_to_must_be_a_path_of_this_app() {
    let h = start(|c| c).await;
    let browser = Browser::new();
    for evil in [
        "https://evil.example/",
        "//evil.example/x",
        "/\\evil.example",
        "%2F%2Fevil.example",
        "javascript:alert(1)",
    ] {
        let page = browser
            .get(&h.url(&format!("/login?return_to={}", urlencode(evil))))
            .await;
        assert_eq!(page.status, 400, "{evil}: {page:#?}");
        assert!(page.body.contains("invalid_return_to"), "{}", page.body);
    }
    assert!(h.issuer.authorization_requests().is_empty());
    let err = h
        .step
        .begin(&Requirement::none(), "https://evil.example", None)
        .await;
    assert!(matches!(err, Err(StepUpError::InvalidReturnTo(_))));
}

#[tokio::test]
async fn a_wrong_pkce_verifier_surfaces_the_issuers_error() {
    let h = start(|c| c).await;
    // Code injection: the code of one step-up with the pending state of
    // another (same state, so only PKCE can tell).
    let user = StepUpUser::new("user-1", None);
    let five = Requirement::max_age(Duration::from_secs(300));
    let a = h.step.begin(&five, "/", Some(&user)).await.unwrap();
    let b = h.step.begin(&five, "/", Some(&user)).await.unwrap();
    let at_issuer = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(&a.location)
        .send()
        .await
        .unwrap();
    let back = at_issuer.headers()["location"].to_str().unwrap().to_owned();
    let code = param(&query(&back), "code").unwrap().to_owned();
    let injected = Callback::parse(
        &format!(
            "code={code}&state={}&iss={}",
            b.pending.state(),
            urlencode(h.issuer.issuer())
        ),
        8192,
    )
    .unwrap();
    let e = h.step.finish(&injected, &b.pending).await.unwrap_err();
    assert_eq!((e.status(), e.code()), (400, "token_exchange_failed"));
    assert!(
        e.to_string()
            .contains("invalid_grant: PKCE verification failed"),
        "{e}"
    );
}

#[tokio::test]
async fn a_mixed_up_issuer_is_refused() {
    let h = start(|c| c).await;
    let begun = h.step.begin(&Requirement::none(), "/", None).await.unwrap();
    let state = begun.pending.state().to_owned();
    for q in [
        format!("code=c&state={state}&iss=https%3A%2F%2Fother.example"),
        // The issuer promises `iss` (RFC 9207): leaving it out is refused.
        format!("code=c&state={state}"),
    ] {
        let begun = h.step.begin(&Requirement::none(), "/", None).await.unwrap();
        let q = q.replace(&state, begun.pending.state());
        let cb = Callback::parse(&q, 8192).unwrap();
        let e = h.step.finish(&cb, &begun.pending).await.unwrap_err();
        assert!(matches!(e, StepUpError::IssuerMismatch), "{q}: {e}");
    }
    assert!(h.issuer.token_requests().is_empty());
}

#[tokio::test]
async fn an_expired_step_up_is_refused() {
    let clock = reauth::FakeClock::now_system();
    let issuer = TestIssuer::start_with_clock(Arc::new(clock.clone())).await;
    let verifier = issuer.verifier().await;
    let step = StepUp::new(
        verifier,
        issuer
            .step_up_config("http://127.0.0.1:9/callback")
            .build()
            .unwrap(),
    )
    .unwrap();
    let begun = step.begin(&Requirement::none(), "/", None).await.unwrap();
    clock.advance(Duration::from_secs(601));
    let cb = Callback::parse(
        &format!(
            "code=c&state={}&iss={}",
            begun.pending.state(),
            urlencode(issuer.issuer())
        ),
        8192,
    )
    .unwrap();
    let e = step.finish(&cb, &begun.pending).await.unwrap_err();
    assert!(
        matches!(e, StepUpError::InvalidState(StateProblem::Expired)),
        "{e}"
    );
}

#[tokio::test]
async fn a_pending_store_keeps_the_state_server_side() {
    let store = Arc::new(MemoryPendingStore::new(100));
    let h = start(|c| {
        c.pending_store(store.clone())
            .user_hint(UserHint::LoginHint)
    })
    .await;
    let (browser, callback, _) = to_callback(&h, TestLogin::default()).await;
    let pending: Vec<_> = browser
        .cookies(&h.base)
        .into_iter()
        .filter(|(n, _, _)| n.starts_with("reauth-stepup."))
        .collect();
    assert_eq!(pending.len(), 1);
    assert_eq!(
        pending[0].1.len(),
        43,
        "only a random binding value, the state is in the store"
    );
    let sent = h.issuer.authorization_requests();
    assert_eq!(sent[0].get("login_hint"), Some("user-1"));
    assert_eq!(sent[0].get("id_token_hint"), None);
    // Login CSRF: the callback opened in another browser (the victim's)
    // is refused, and uses the step-up up.
    let (_, callback2, _) = to_callback(&h, TestLogin::default()).await;
    let victim = Browser::new();
    let page = victim.get(&callback2).await;
    assert_eq!(page.status, 400, "{page:#?}");
    assert!(page.set_cookie(SESSION).is_none());
    let page = browser.get(&callback).await;
    assert_eq!(page.status, 302, "{page:#?}");
    // Taken once: a replay, even with the binding cookie, finds nothing.
    let thief = Browser::new();
    for (name, value, _) in browser.cookies(&h.base) {
        thief.set_cookie(&h.base, &name, &value);
    }
    let page = thief.get(&callback).await;
    assert_eq!(page.status, 400);
    assert!(
        page.body.contains("missing") || page.body.contains("tampered"),
        "{}",
        page.body
    );
}

#[tokio::test]
async fn mfa_demanded_but_not_delivered_is_refused() {
    let h = start(|c| c).await;
    let browser = Browser::new();
    h.stale_session(&browser, 3600);
    let page = browser.get(&h.url("/mfa")).await;
    h.issuer
        .set_login(TestLogin::user("user-1").acr("urn:loa:1"));
    let hops = browser.follow(&page.next().unwrap()).await;
    let last = hops.last().unwrap();
    assert_eq!(last.status, 403, "{hops:#?}");
    assert!(
        last.body.contains("insufficient_authentication"),
        "{}",
        last.body
    );
}

#[tokio::test]
async fn log_out_removes_the_session() {
    let h = start(|c| c).await;
    let browser = Browser::new();
    h.sign_in(&browser).await;
    assert!(browser.cookie(&h.base, SESSION).is_some());
    let page = browser.post(&h.url("/logout"), "").await;
    assert_eq!((page.status, page.location.as_deref()), (303, Some("/")));
    assert!(browser.cookie(&h.base, SESSION).is_none());
}

#[tokio::test]
async fn wiring_mistakes_fail_loudly() {
    let issuer = TestIssuer::start().await;
    let verifier = issuer.verifier().await;
    let cb = "http://127.0.0.1:9/callback";
    // The verifier must accept this client's ID tokens.
    let other = reauth::Verifier::discover(
        reauth::VerifierConfig::builder(issuer.issuer())
            .audience("someone-else")
            .build()
            .unwrap(),
    )
    .await
    .unwrap();
    let e = StepUp::new(other, issuer.step_up_config(cb).build().unwrap()).unwrap_err();
    assert!(e.to_string().contains("audiences"), "{e}");
    // A key too short, no key at all, a secret method without a secret.
    let builder = reauth::stepup::StepUpConfig::builder(TEST_CLIENT_ID, cb);
    assert!(builder.cookie_key(&[7; 16]).build().is_err());
    let builder = reauth::stepup::StepUpConfig::builder(TEST_CLIENT_ID, cb);
    assert!(
        builder
            .build()
            .unwrap_err()
            .to_string()
            .contains("cookie key")
    );
    assert!(
        issuer
            .step_up_config(cb)
            .client_auth(reauth::stepup::ClientAuth::SecretPost)
            .build()
            .is_err()
    );
    assert!(
        issuer
            .step_up_config("http://app.example/callback")
            .build()
            .is_err()
    );
    // On https the session cookie is Secure and `__Host-` (no subdomain can
    // plant or shadow it); the token source follows.
    let https = StepUp::new(
        verifier.clone(),
        issuer
            .step_up_config("https://app.example/callback")
            .build()
            .unwrap(),
    )
    .unwrap();
    let set = https.session_cookie("t");
    assert!(set.starts_with("__Host-reauth_id_token=t;"), "{set}");
    assert!(set.contains("Secure") && set.contains("Path=/"), "{set}");
    assert_eq!(
        https.token_source(),
        TokenSource::Cookie("__Host-reauth_id_token".into())
    );
    // An issuer that does not do PKCE S256, or this client authentication.
    issuer.set_discovery_field(
        "code_challenge_methods_supported",
        serde_json::json!(["plain"]),
    );
    let v2 = issuer.verifier().await;
    let e = StepUp::new(v2, issuer.step_up_config(cb).build().unwrap()).unwrap_err();
    assert!(e.to_string().contains("S256"), "{e}");
    issuer.set_discovery_field(
        "code_challenge_methods_supported",
        serde_json::json!(["S256"]),
    );
    issuer.set_discovery_field(
        "token_endpoint_auth_methods_supported",
        serde_json::json!(["private_key_jwt"]),
    );
    let v3 = issuer.verifier().await;
    let e = StepUp::new(v3, issuer.step_up_config(cb).build().unwrap()).unwrap_err();
    assert!(e.to_string().contains("none"), "{e}");
    drop(verifier);
}

#[tokio::test]
async fn a_token_source_other_than_the_session_cookie_is_a_500() {
    let h = start_with(
        |c| c,
        |c| {
            c.service(
                web::resource("/bearer")
                    .app_data(TokenSource::AuthorizationBearer)
                    .app_data(Requirement::none())
                    .route(web::get().to(whoami)),
            );
        },
    )
    .await;
    let page = Browser::new().get(&h.url("/bearer")).await;
    assert_eq!(page.status, 500, "{page:#?}");
    drop(h.verifier);
}

#[tokio::test]
async fn a_confidential_client_authenticates_at_the_token_endpoint() {
    for method in [
        reauth::stepup::ClientAuth::SecretBasic,
        reauth::stepup::ClientAuth::SecretPost,
    ] {
        let h = start(|c| c.client_secret("s3cret: &=").client_auth(method)).await;
        h.issuer.set_client_secret(Some("s3cret: &="));
        let browser = Browser::new();
        let hops = h.sign_in(&browser).await;
        assert_eq!(hops.last().unwrap().status, 200, "{method:?}: {hops:#?}");
        let sent = &h.issuer.token_requests()[0];
        let in_body = sent.get("client_secret").is_some();
        assert_eq!(in_body, method == reauth::stepup::ClientAuth::SecretPost);
        // The wrong secret: the issuer's invalid_client, as a 502.
        h.issuer.set_client_secret(Some("other"));
        let hops = Browser::new().follow(&h.url("/login")).await;
        let last = hops.last().unwrap();
        assert_eq!(last.status, 502, "{hops:#?}");
        assert!(last.body.contains("invalid_client"), "{}", last.body);
    }
}

#[tokio::test]
async fn an_id_token_too_large_for_a_cookie_fails_loudly() {
    let h = start(|c| c).await;
    let (browser, callback, old) = to_callback(
        &h,
        TestLogin::user("user-1").claim("groups", "g".repeat(4000)),
    )
    .await;
    let page = browser.get(&callback).await;
    assert_eq!(page.status, 500, "{page:#?}");
    assert!(page.body.contains("session_too_large"), "{}", page.body);
    assert!(
        page.set_cookie(SESSION).is_none(),
        "no cookie a browser would drop"
    );
    assert_eq!(
        browser.cookie(&h.base, SESSION).as_deref(),
        Some(old.as_str())
    );
}

#[tokio::test]
async fn an_expired_session_still_has_to_prove_a_new_login() {
    let h = start(|c| c).await;
    let browser = Browser::new();
    let now = chrono::Utc::now().timestamp();
    let expired = h
        .issuer
        .token()
        .claim("iat", now - 7200)
        .claim("exp", now - 3600)
        .auth_time_ago(7200)
        .sign();
    browser.set_cookie(&h.base, SESSION, &expired);
    let page = browser.get(&h.url("/account/delete")).await;
    assert_eq!(page.status, 302, "{page:#?}");
    let q = query(&page.next().unwrap());
    // Who it was cannot be told from an expired token: no hint, no sub to
    // match, but the route demands a login, so it must be a new one.
    assert_eq!(param(&q, "prompt"), Some("login"));
    assert_eq!(
        (param(&q, "login_hint"), param(&q, "id_token_hint")),
        (None, None)
    );
    h.issuer
        .set_login(TestLogin::user("user-1").auth_time_ago(120));
    let hops = browser.follow(&page.next().unwrap()).await;
    let last = hops.last().unwrap();
    assert_eq!(last.status, 403, "{hops:#?}");
    assert!(
        last.body.contains("reauthentication_not_proven"),
        "{}",
        last.body
    );
    // A plain sign-in (`/login`) proves nothing and sends no prompt.
    let page = browser.get(&h.url("/login")).await;
    assert_eq!(param(&query(&page.next().unwrap()), "prompt"), None);
}

#[tokio::test]
async fn a_long_query_returns_to_the_path_alone() {
    let h = start(|c| c).await;
    let browser = Browser::new();
    h.stale_session(&browser, 3600);
    let long = format!("/account/delete?q={}", "x".repeat(2000));
    let page = browser.get(&h.url(&long)).await;
    assert_eq!(page.status, 302);
    let hops = browser.follow(&page.next().unwrap()).await;
    assert_eq!(
        hops[1].location.as_deref(),
        Some("/account/delete"),
        "{hops:#?}"
    );
    assert_eq!(hops.last().unwrap().status, 200);
}

#[tokio::test]
async fn cookies_split_over_several_headers_are_all_read() {
    let h = start(|c| c).await;
    let browser = Browser::new();
    h.sign_in(&browser).await;
    let token = browser.cookie(&h.base, SESSION).unwrap();
    // HTTP/2 sends one `Cookie` header per cookie.
    let res = reqwest::Client::new()
        .get(h.url("/account/delete"))
        .header("accept", "text/html")
        .header("cookie", "theme=dark")
        .header("cookie", format!("{SESSION}={token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
}

#[tokio::test]
async fn cross_site_posts_cannot_use_the_session() {
    let h = start(|c| c).await;
    let browser = Browser::new();
    h.sign_in(&browser).await;
    let token = browser.cookie(&h.base, SESSION).unwrap();
    let post = |headers: Vec<(&'static str, String)>| {
        let mut req = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap()
            .post(h.url("/account/delete"))
            .header("cookie", format!("{SESSION}={token}"));
        for (k, v) in headers {
            req = req.header(k, v);
        }
        async move { req.send().await.unwrap() }
    };
    for headers in [
        vec![("origin", "https://evil.example".to_owned())],
        vec![("origin", "null".to_owned())],
        vec![
            ("sec-fetch-site", "cross-site".to_owned()),
            ("origin", h.base.clone()),
        ],
        vec![("sec-fetch-site", "same-site".to_owned())],
    ] {
        let res = post(headers.clone()).await;
        assert_eq!(res.status(), 403, "{headers:?}");
        assert!(res.text().await.unwrap().contains("cross_site_request"));
    }
    for headers in [
        vec![("origin", h.base.clone())],
        vec![("sec-fetch-site", "same-origin".to_owned())],
        vec![],
    ] {
        assert_eq!(post(headers.clone()).await.status(), 200, "{headers:?}");
    }
    // Log out is a state change too.
    let res = reqwest::Client::new()
        .post(h.url("/logout"))
        .header("cookie", format!("{SESSION}={token}"))
        .header("origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
}

#[tokio::test]
async fn debug_output_carries_no_credentials() {
    let h = start(|c| c.user_hint(UserHint::IdToken)).await;
    let token = h.issuer.token().sign();
    let user = StepUpUser::new("user-1", Some(token.clone()));
    let begun = h
        .step
        .begin(&Requirement::none(), "/", Some(&user))
        .await
        .unwrap();
    let redirect = reauth::Redirect {
        location: begun.location.clone(),
        set_cookies: vec![begun.set_cookie.clone()],
    };
    for text in [
        format!("{begun:?}"),
        format!("{redirect:?}"),
        format!("{:?}", begun.pending),
    ] {
        for secret in [
            token.as_str(),
            begun.pending.state(),
            begun.set_cookie.as_str(),
        ] {
            assert!(!text.contains(secret), "{text}");
        }
    }
}

#[tokio::test]
async fn a_redis_pending_store_is_shared_by_instances_and_taken_once() {
    let Some(redis) = support::Redis::start() else {
        return;
    };
    let issuer = TestIssuer::start().await;
    let callback = "http://127.0.0.1:9/callback";
    // Two instances of one app: the same client and redirect URI, each
    // with its own connection to the shared store.
    let mut instances = Vec::new();
    for _ in 0..2 {
        let store = reauth::stepup::RedisPendingStore::connect(
            &redis.url(),
            "reauth-stepup",
            Duration::from_secs(2),
        )
        .await
        .unwrap();
        let config = issuer
            .step_up_config(callback)
            .pending_store(Arc::new(store))
            .build()
            .unwrap();
        instances.push(StepUp::new(issuer.verifier().await, config).unwrap());
    }
    let five = Requirement::max_age(Duration::from_secs(300));
    let begun = instances[0]
        .begin(&five, "/account/delete", None)
        .await
        .unwrap();
    let key = format!("reauth-stepup:{}", begun.pending.state());
    let ttl: i64 = support::redis_cli(redis.port, &["TTL", &key])
        .parse()
        .unwrap();
    assert!((1..=600).contains(&ttl), "expires on its own: {ttl}");
    // The issuer sends the browser back; the other instance finishes.
    let back = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(&begun.location)
        .send()
        .await
        .unwrap()
        .headers()["location"]
        .to_str()
        .unwrap()
        .to_owned();
    let query = url::Url::parse(&back).unwrap().query().unwrap().to_owned();
    let binding = actix_web::cookie::Cookie::parse(begun.set_cookie.clone()).unwrap();
    let cookie = format!("{}={}", binding.name(), binding.value());
    let done = instances[1].complete(&query, Some(&cookie)).await;
    let finished = done.result.unwrap();
    assert_eq!(finished.return_to, "/account/delete");
    assert_eq!(support::redis_cli(redis.port, &["EXISTS", &key]), "0");
    // Once, on every instance.
    for instance in &instances {
        let again = instance.complete(&query, Some(&cookie)).await;
        assert!(
            matches!(
                again.result,
                Err(StepUpError::InvalidState(StateProblem::Missing))
            ),
            "{:?}",
            again.result
        );
    }
    // Without the browser's binding cookie, a stored step-up is not
    // finished (and stays for the browser that began it).
    let begun = instances[0].begin(&five, "/", None).await.unwrap();
    let q = format!(
        "code=x&state={}&iss={}",
        begun.pending.state(),
        urlencode(issuer.issuer())
    );
    let other = instances[1].complete(&q, Some("a=b")).await;
    assert!(
        matches!(other.result, Err(StepUpError::InvalidState(_))),
        "{:?}",
        other.result
    );
    let key = format!("reauth-stepup:{}", begun.pending.state());
    assert_eq!(support::redis_cli(redis.port, &["EXISTS", &key]), "1");
}

/// The page shows no markup but its own: no tag, attribute or quote a
/// value could have brought.
fn assert_no_markup_but_ours(page: &Page) {
    assert_eq!(
        page.header("content-type"),
        Some("text/html; charset=utf-8"),
        "{page:#?}"
    );
    let ours = "<!doctype html><title>Sign-in failed</title><h1>Sign-in failed</h1><p><code>\
                </code>: </p><p><a href=\"/\">Back</a></p>";
    for c in ['<', '>', '"', '\''] {
        assert_eq!(
            page.body.matches(c).count(),
            ours.matches(c).count(),
            "{c:?} in {}",
            page.body
        );
    }
    for raw in ["<script", "<img", "onerror='", "alert('1')"] {
        assert!(!page.body.contains(raw), "{}", page.body);
    }
}

#[tokio::test]
async fn an_issuers_error_is_never_written_raw_into_the_page() {
    let h = start(|c| c).await;
    let hostile = [
        "<script>alert(1)</script>",
        "<img src=x onerror='alert('1')'>",
        "a&b'c<d>e",
    ];
    // A hostile issuer's `error`: the page names a code from the fixed
    // vocabulary, escaped.
    for error in hostile {
        let (browser, callback, _) = to_callback(&h, TestLogin::error(error)).await;
        let page = browser.get(&callback).await;
        assert_eq!(page.status, 502, "{page:#?}");
        assert_no_markup_but_ours(&page);
        assert!(
            page.body.contains("<code>authorization_failed</code>"),
            "{}",
            page.body
        );
        // JSON for an API client names the same code.
        let (browser, callback, _) = to_callback(&h, TestLogin::error(error)).await;
        let page = browser.get_json(&callback).await;
        assert_eq!(json(&page)["error"], "authorization_failed", "{page:#?}");
    }
    // A callback made up by an attacker for a step-up this browser began
    // (a planted pending cookie): `error` and `error_description` of their
    // choosing.
    for (error, description) in [
        ("access_denied", "<script>alert(1)</script>"),
        (
            "<script>alert(1)</script>",
            "<img src=x onerror='alert('1')'>",
        ),
        ("login_required", "a&b'c"),
    ] {
        let browser = Browser::new();
        let page = browser.get(&h.url("/account/delete")).await;
        assert_eq!(page.status, 302, "{page:#?}");
        let q = query(&page.next().unwrap());
        let state = param(&q, "state").unwrap();
        let page = browser
            .get(&h.url(&format!(
                "/callback?state={state}&error={}&error_description={}&iss={}",
                urlencode(error),
                urlencode(description),
                urlencode(h.issuer.issuer())
            )))
            .await;
        assert!(matches!(page.status, 403 | 502), "{page:#?}");
        assert_no_markup_but_ours(&page);
        assert!(
            page.body.contains("&lt;") || page.body.contains("&amp;"),
            "the description is shown, escaped: {}",
            page.body
        );
    }
    // The core API: a fixed vocabulary, the issuer's text kept for the log.
    for (sent, code) in [
        ("access_denied", "access_denied"),
        ("invalid_request_object", "invalid_request_object"),
        (
            "unmet_authentication_requirements",
            "unmet_authentication_requirements",
        ),
        ("<b>", "authorization_failed"),
        ("Access_Denied", "authorization_failed"),
    ] {
        let begun = h.step.begin(&Requirement::none(), "/", None).await.unwrap();
        let cb = Callback::parse(
            &format!(
                "error={}&state={}&iss={}",
                urlencode(sent),
                begun.pending.state(),
                urlencode(h.issuer.issuer())
            ),
            8192,
        )
        .unwrap();
        let e = h.step.finish(&cb, &begun.pending).await.unwrap_err();
        assert_eq!(e.code(), code);
        assert!(!e.message().contains('<'), "{}", e.message());
        assert!(!e.to_html().contains("<b>"), "{}", e.to_html());
        let StepUpError::Authorization { kind, .. } = &e else {
            panic!("{e:?}")
        };
        assert_eq!(kind.as_str(), sent);
    }
    assert_eq!(
        reauth::stepup::html_escape("<a href=\"x\">'&'</a>"),
        "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
    );
}

#[tokio::test]
async fn pending_cookies_on_https_cannot_be_planted_by_a_subdomain() {
    let issuer = TestIssuer::start().await;
    let https = "https://app.example/account/callback";
    let cookie_mode = issuer.step_up_config(https).build().unwrap();
    let store_mode = issuer
        .step_up_config(https)
        .pending_store(Arc::new(MemoryPendingStore::default()))
        .build()
        .unwrap();
    for config in [cookie_mode, store_mode] {
        let step = StepUp::new(issuer.verifier().await, config).unwrap();
        let begun = step.begin(&Requirement::none(), "/", None).await.unwrap();
        let state = begun.pending.state();
        // RFC 6265bis §4.1.3.2: `__Host-`, Secure, Path=/, no Domain, like
        // the session cookie.
        let set = actix_web::cookie::Cookie::parse(begun.set_cookie.clone()).unwrap();
        assert_eq!(set.name(), format!("__Host-reauth-stepup.{state}"));
        assert_eq!(
            (set.secure(), set.path(), set.domain(), set.http_only()),
            (Some(true), Some("/"), None, Some(true)),
            "{set}"
        );
        let q = format!(
            "error=access_denied&state={state}&iss={}",
            urlencode(issuer.issuer())
        );
        // A sibling subdomain can set `reauth-stepup.<state>` (with
        // Domain=), never a `__Host-` cookie: the unprefixed one is not read.
        let planted = step
            .complete(&q, Some(&format!("reauth-stepup.{state}={}", set.value())))
            .await;
        assert!(
            matches!(
                planted.result,
                Err(StepUpError::InvalidState(StateProblem::Missing))
            ),
            "{:?}",
            planted.result
        );
        // The app's own cookie is read (the issuer's error surfaces), and
        // removed under the same name and path.
        let done = step
            .complete(&q, Some(&format!("{}={}", set.name(), set.value())))
            .await;
        assert!(
            matches!(done.result, Err(StepUpError::Authorization { .. })),
            "{:?}",
            done.result
        );
        let removal = actix_web::cookie::Cookie::parse(done.set_cookies[0].clone()).unwrap();
        assert_eq!(
            (removal.name(), removal.path(), removal.secure()),
            (set.name(), Some("/"), Some(true))
        );
        assert_eq!(removal.value(), "");
    }
}

#[tokio::test]
async fn a_stranger_who_knows_the_state_cannot_cancel_a_step_up() {
    let store = Arc::new(MemoryPendingStore::new(100));
    let h = start(|c| c.pending_store(store.clone())).await;
    let (browser, callback, _) = to_callback(&h, TestLogin::default()).await;
    let (name, value, _) = browser
        .cookies(&h.base)
        .into_iter()
        .find(|(n, _, _)| n.starts_with("reauth-stepup."))
        .unwrap();
    // Someone who learned the callback URL (a log, a shoulder) presents it
    // with a binding cookie of their own: refused, and the step-up stays.
    let stranger = Browser::new();
    stranger.set_cookie(&h.base, &name, &"A".repeat(43));
    let page = stranger.get(&callback).await;
    assert_eq!(page.status, 400, "{page:#?}");
    assert!(page.body.contains("tampered"), "{}", page.body);
    assert_eq!(store.len(), 1, "the step-up is still pending");
    // The browser that began it finishes it.
    let page = browser.get(&callback).await;
    assert_eq!(page.status, 302, "{page:#?}");
    assert!(page.set_cookie(SESSION).is_some());
    assert!(store.is_empty());
    // Still once: a replay with the right binding cookie finds nothing.
    let thief = Browser::new();
    thief.set_cookie(&h.base, &name, &value);
    let page = thief.get(&callback).await;
    assert_eq!(page.status, 400, "{page:#?}");
    assert!(page.body.contains("missing"), "{}", page.body);
    assert_eq!(h.issuer.token_requests().len(), 1);
}

/// A step-up begun by `step` and its callback with `error=access_denied`
/// (nothing reaches the token endpoint): the query and the binding cookie.
async fn begun_with_error(step: &StepUp, issuer: &TestIssuer) -> (String, String) {
    let begun = step.begin(&Requirement::none(), "/", None).await.unwrap();
    let set = actix_web::cookie::Cookie::parse(begun.set_cookie.clone()).unwrap();
    (
        format!(
            "error=access_denied&state={}&iss={}",
            begun.pending.state(),
            urlencode(issuer.issuer())
        ),
        format!("{}={}", set.name(), set.value()),
    )
}

/// Whether the callback got past the pending state (to the issuer's error).
fn found(c: &reauth::stepup::Completion) -> bool {
    matches!(c.result, Err(StepUpError::Authorization { .. }))
}

#[tokio::test]
async fn the_memory_pending_store_holds_at_most_its_capacity() {
    assert_eq!(
        MemoryPendingStore::default().capacity(),
        reauth::stepup::DEFAULT_MAX_PENDING
    );
    let (clock, issuer, verifier) = support::with_fake_clock().await;
    let store = Arc::new(MemoryPendingStore::new(3));
    let step = StepUp::new(
        verifier,
        issuer
            .step_up_config("http://127.0.0.1:9/callback")
            .pending_store(store.clone())
            .build()
            .unwrap(),
    )
    .unwrap();
    // An anonymous flood: each request begins a step-up; the store keeps
    // the last 3 and drops the oldest.
    let mut begun = Vec::new();
    for _ in 0..5 {
        begun.push(begun_with_error(&step, &issuer).await);
    }
    assert_eq!(store.len(), 3);
    for (i, (q, cookie)) in begun.iter().enumerate() {
        let done = step.complete(q, Some(cookie)).await;
        assert_eq!(found(&done), i >= 2, "{i}: {:?}", done.result);
    }
    // Expired step-ups go before any live one.
    for _ in 0..3 {
        begun_with_error(&step, &issuer).await;
    }
    assert_eq!(store.len(), 3);
    clock.advance(Duration::from_secs(601));
    let (q, cookie) = begun_with_error(&step, &issuer).await;
    assert_eq!(store.len(), 1, "the expired ones were dropped");
    assert!(found(&step.complete(&q, Some(&cookie)).await));
}

#[tokio::test]
async fn a_redis_pending_store_checks_the_browser_before_taking() {
    let Some(redis) = support::Redis::start() else {
        return;
    };
    let issuer = TestIssuer::start().await;
    let mut instances = Vec::new();
    for _ in 0..2 {
        let store = reauth::stepup::RedisPendingStore::connect(
            &redis.url(),
            "reauth-stepup",
            Duration::from_secs(2),
        )
        .await
        .unwrap();
        let config = issuer
            .step_up_config("http://127.0.0.1:9/callback")
            .pending_store(Arc::new(store))
            .build()
            .unwrap();
        instances.push(StepUp::new(issuer.verifier().await, config).unwrap());
    }
    let (q, cookie) = begun_with_error(&instances[0], &issuer).await;
    let state = param(&query(&format!("http://x/?{q}")), "state")
        .unwrap()
        .to_owned();
    let key = format!("reauth-stepup:{state}");
    // A stranger's binding cookie: refused, and the step-up stays.
    let name = cookie.split('=').next().unwrap();
    let stranger = instances[1]
        .complete(&q, Some(&format!("{name}={}", "A".repeat(43))))
        .await;
    assert!(
        matches!(
            stranger.result,
            Err(StepUpError::InvalidState(StateProblem::Tampered))
        ),
        "{:?}",
        stranger.result
    );
    assert_eq!(support::redis_cli(redis.port, &["EXISTS", &key]), "1");
    // The browser that began it, twice at once on two instances: once.
    let (a, b) = tokio::join!(
        instances[0].complete(&q, Some(&cookie)),
        instances[1].complete(&q, Some(&cookie))
    );
    assert_eq!(
        [found(&a), found(&b)].iter().filter(|f| **f).count(),
        1,
        "{:?} {:?}",
        a.result,
        b.result
    );
    for done in [&a, &b] {
        assert!(
            found(done) || matches!(done.result, Err(StepUpError::InvalidState(_))),
            "{:?}",
            done.result
        );
    }
    assert_eq!(support::redis_cli(redis.port, &["EXISTS", &key]), "0");
}

#[tokio::test]
async fn a_redis_pending_store_caps_the_step_ups_begun_per_lifetime() {
    let Some(redis) = support::Redis::start() else {
        return;
    };
    let (clock, issuer, verifier) = support::with_fake_clock().await;
    let store =
        reauth::stepup::RedisPendingStore::connect(&redis.url(), "capped", Duration::from_secs(2))
            .await
            .unwrap()
            .max_pending(3);
    let step = StepUp::new(
        verifier,
        issuer
            .step_up_config("http://127.0.0.1:9/callback")
            .pending_store(Arc::new(store))
            .build()
            .unwrap(),
    )
    .unwrap();
    let none = Requirement::none();
    for _ in 0..3 {
        step.begin(&none, "/", None).await.unwrap();
    }
    // The fourth in the same window: refused (503), nothing stored.
    let e = step.begin(&none, "/", None).await.unwrap_err();
    assert!(
        matches!(e, StepUpError::TooManyPending { limit: 3 }),
        "{e:?}"
    );
    assert_eq!((e.status(), e.code()), (503, "too_many_pending_step_ups"));
    let keys = support::redis_cli(redis.port, &["KEYS", "capped:*"]);
    assert_eq!(keys.lines().count(), 4, "3 step-ups and a counter: {keys}");
    // The counter expires on its own.
    let counter = keys.lines().find(|k| k.contains(":begun:")).unwrap();
    let ttl: i64 = support::redis_cli(redis.port, &["TTL", counter])
        .parse()
        .unwrap();
    assert!((1..=1200).contains(&ttl), "{ttl}");
    // The next window begins afresh.
    clock.advance(Duration::from_secs(600));
    step.begin(&none, "/", None).await.unwrap();
    // The default.
    assert_eq!(reauth::stepup::DEFAULT_MAX_REDIS_PENDING, 20_000);
}
