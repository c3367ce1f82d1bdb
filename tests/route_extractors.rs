//! The extractors' newer duties, in actix-web and axum, over real servers
//! on loopback with the real test issuer: routes that serve anonymous and
//! signed-in users alike (`MaybeReauthenticated`: no token is anonymous; a
//! sent token is checked in full and a bad one is an error, never
//! anonymous), and custom error bodies (`ErrorRenderer`) that keep the
//! status and the challenge.

use std::time::Duration;

use reauth::testing::Behavior;
use reauth::testing::TestIssuer;
use reauth::{ErrorBody, ErrorRenderer, Requirement, TokenSource, Verifier};

struct Setup {
    requirement: Option<Requirement>,
    source: Option<TokenSource>,
    renderer: Option<ErrorRenderer>,
}

fn setup(requirement: Option<Requirement>) -> Setup {
    Setup {
        requirement,
        source: None,
        renderer: None,
    }
}

async fn both(verifier: &Verifier, s: Setup) -> [String; 2] {
    [
        actix_app(verifier.clone(), &s).await,
        axum_app(verifier.clone(), &s).await,
    ]
}

async fn actix_app(verifier: Verifier, s: &Setup) -> String {
    let (requirement, source, renderer) =
        (s.requirement.clone(), s.source.clone(), s.renderer.clone());
    use actix_web::{App, HttpResponse, HttpServer, web};
    use reauth::actix::MaybeReauthenticated;
    async fn page(user: MaybeReauthenticated) -> HttpResponse {
        match &user.0 {
            Some(u) => HttpResponse::Ok().body(format!("user {}", u.subject())),
            None => HttpResponse::Ok().body("guest"),
        }
    }
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let server = HttpServer::new(move || {
        let mut app = App::new().app_data(web::Data::new(verifier.clone()));
        if let Some(r) = &requirement {
            app = app.app_data(r.clone());
        }
        if let Some(s) = &source {
            app = app.app_data(s.clone());
        }
        if let Some(r) = &renderer {
            app = app.app_data(r.clone());
        }
        app.route("/page", web::get().to(page))
    })
    .workers(1)
    .listen(listener)
    .unwrap()
    .run();
    tokio::spawn(server);
    format!("http://{addr}/page")
}

async fn axum_app(verifier: Verifier, s: &Setup) -> String {
    let (requirement, source, renderer) =
        (s.requirement.clone(), s.source.clone(), s.renderer.clone());
    use axum::{Extension, Router, routing::get};
    use reauth::axum::MaybeReauthenticated;
    async fn page(user: MaybeReauthenticated) -> String {
        match &user.0 {
            Some(u) => format!("user {}", u.subject()),
            None => "guest".to_owned(),
        }
    }
    let mut router = Router::new().route("/page", get(page));
    if let Some(r) = requirement {
        router = router.layer(Extension(r));
    }
    if let Some(s) = source {
        router = router.layer(Extension(s));
    }
    if let Some(r) = renderer {
        router = router.layer(Extension(r));
    }
    let app = router.with_state(verifier);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}/page")
}

async fn get(url: &str, header: Option<(&str, &str)>) -> (u16, String, Option<String>) {
    let (status, headers, body) = get_full(url, header).await;
    (
        status,
        body,
        headers
            .get("www-authenticate")
            .map(|v| v.to_str().unwrap().to_owned()),
    )
}

async fn get_full(
    url: &str,
    header: Option<(&str, &str)>,
) -> (u16, reqwest::header::HeaderMap, String) {
    let mut req = reqwest::Client::new().get(url);
    if let Some((k, v)) = header {
        req = req.header(k, v);
    }
    let res = req.send().await.unwrap();
    let (status, headers) = (res.status().as_u16(), res.headers().clone());
    (status, headers, res.text().await.unwrap())
}

fn code(body: &str) -> String {
    serde_json::from_str::<serde_json::Value>(body).unwrap()["error"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn anonymous_or_checked_in_full_never_silently_anonymous() {
    let issuer = TestIssuer::start().await;
    let verifier = issuer.verifier().await;
    let five_min = Requirement::max_age(Duration::from_secs(300));
    for url in both(&verifier, setup(Some(five_min))).await {
        let bearer = |t: &str| format!("Bearer {t}");
        // Nothing sent: a guest.
        assert_eq!(get(&url, None).await.1, "guest", "{url}");
        // A good token: the user.
        let fresh = issuer.token().auth_time_ago(10).sign();
        let (status, body, _) = get(&url, Some(("authorization", &bearer(&fresh)))).await;
        assert_eq!((status, body.as_str()), (200, "user user-1"), "{url}");
        // A token that fails the route's requirement: the step-up challenge.
        let stale = issuer.token().auth_time_ago(3600).sign();
        let (status, body, challenge) = get(&url, Some(("authorization", &bearer(&stale)))).await;
        assert_eq!(
            (status, code(&body).as_str()),
            (401, "authentication_too_old"),
            "{url}"
        );
        assert!(challenge.unwrap().contains("max_age"));
        // Expired, forged, garbage: errors, not guests.
        let expired = issuer.token().claim("exp", 1).sign();
        let (status, body, _) = get(&url, Some(("authorization", &bearer(&expired)))).await;
        assert_eq!((status, code(&body).as_str()), (401, "expired"), "{url}");
        let (status, _, _) = get(&url, Some(("authorization", "Bearer not.a.token"))).await;
        assert_eq!(status, 401, "{url}");
        // A credential that holds no bearer token is not "nothing sent".
        for value in ["Basic dXNlcjpwYXNz", "Bearer ", "Bearer"] {
            let (status, body, _) = get(&url, Some(("authorization", value))).await;
            assert_eq!(
                (status, code(&body).as_str()),
                (401, "malformed_token"),
                "{url} {value:?}"
            );
        }
    }
}

#[tokio::test]
async fn wiring_mistakes_fail_for_guests_too() {
    let issuer = TestIssuer::start().await;
    let verifier = issuer.verifier().await;
    for url in both(&verifier, setup(None)).await {
        // No Requirement reaches the route: 500, even with no token.
        let (status, body, _) = get(&url, None).await;
        assert_eq!(
            (status, code(&body).as_str()),
            (500, "server_error"),
            "{url}"
        );
    }
}

#[tokio::test]
async fn cookie_sources_tell_other_cookies_from_an_empty_one() {
    let issuer = TestIssuer::start().await;
    let verifier = issuer.verifier().await;
    let s = Setup {
        source: Some(TokenSource::Cookie("id_token".into())),
        ..setup(Some(Requirement::none()))
    };
    for url in both(&verifier, s).await {
        assert_eq!(
            get(&url, Some(("cookie", "theme=dark"))).await.1,
            "guest",
            "{url}"
        );
        let (status, body, _) = get(&url, Some(("cookie", "theme=dark; id_token="))).await;
        assert_eq!(
            (status, code(&body).as_str()),
            (401, "malformed_token"),
            "{url}"
        );
        let t = issuer.token().sign();
        let cookie = format!("theme=dark; id_token={t}");
        assert_eq!(
            get(&url, Some(("cookie", &cookie))).await.1,
            "user user-1",
            "{url}"
        );
    }
}

#[tokio::test]
async fn custom_error_bodies_keep_the_status_and_the_challenge() {
    let issuer = TestIssuer::start().await;
    let verifier = issuer.verifier().await;
    let five_min = Requirement::max_age(Duration::from_secs(300));
    let stale = format!("Bearer {}", issuer.token().auth_time_ago(3600).sign());

    // RFC 9457 problem details.
    let s = Setup {
        renderer: Some(ErrorRenderer::problem_json()),
        ..setup(Some(five_min.clone()))
    };
    for url in both(&verifier, s).await {
        let (status, headers, body) = get_full(&url, Some(("authorization", &stale))).await;
        assert_eq!(status, 401, "{url}");
        assert_eq!(headers["content-type"], "application/problem+json", "{url}");
        assert_eq!(headers["cache-control"], "no-store");
        let challenge = headers["www-authenticate"].to_str().unwrap();
        assert!(
            challenge.contains("insufficient_user_authentication") && challenge.contains("max_age")
        );
        let p: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(
            (
                p["type"].as_str(),
                p["title"].as_str(),
                p["status"].as_u64(),
                p["code"].as_str()
            ),
            (
                Some("about:blank"),
                Some("Unauthorized"),
                Some(401),
                Some("authentication_too_old")
            ),
            "{url}"
        );
        // A credential without a token: the invalid_token challenge stays.
        let (status, headers, _) = get_full(&url, Some(("authorization", "Basic eDp5"))).await;
        assert_eq!(status, 401);
        assert!(
            headers["www-authenticate"]
                .to_str()
                .unwrap()
                .contains("invalid_token")
        );
    }

    // The app's own HTML page.
    let html = html_renderer();
    let s = Setup {
        renderer: Some(html),
        ..setup(Some(five_min))
    };
    let urls = both(&verifier, s).await;
    for url in &urls {
        let (status, headers, body) = get_full(url, Some(("authorization", &stale))).await;
        assert_eq!(
            (status, body.as_str()),
            (401, "<h1>authentication_too_old</h1>")
        );
        assert!(headers.contains_key("www-authenticate"));
    }
    // 503 keeps Retry-After: an issuer whose keys cannot be loaded.
    let down = TestIssuer::start().await;
    down.set_jwks_behavior(Behavior::Status(500));
    let down_verifier = down.verifier().await;
    let html = html_renderer();
    let s = Setup {
        renderer: Some(html),
        ..setup(Some(Requirement::none()))
    };
    let token = format!("Bearer {}", down.token().sign());
    for url in both(&down_verifier, s).await {
        let (status, headers, body) = get_full(&url, Some(("authorization", &token))).await;
        assert_eq!(
            (status, body.as_str()),
            (503, "<h1>keys_unavailable</h1>"),
            "{url}"
        );
        assert_eq!(headers["retry-after"], "5");
    }
}

/// The app's own HTML page: `<h1>code</h1>`.
fn html_renderer() -> ErrorRenderer {
    ErrorRenderer::new(|e| ErrorBody {
        content_type: "text/html; charset=utf-8".into(),
        body: format!("<h1>{}</h1>", e.code()).into_bytes(),
    })
}
