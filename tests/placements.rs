//! Every plausible place to register a `Requirement`, `TokenSource` or
//! `Verifier` either works or answers 500 `server_error`: never a silent
//! "no check" (issue: a new user's first hour, point 1). Real servers on
//! 127.0.0.1, the real test issuer.

use std::time::Duration;

use reauth::testing::TestIssuer;
use reauth::{Requirement, TokenSource};

fn mins(m: u64) -> Requirement {
    Requirement::max_age(Duration::from_secs(m * 60))
}

struct Reply {
    status: u16,
    challenge: Option<String>,
    body: String,
}

impl Reply {
    fn error(&self) -> String {
        serde_json::from_str::<serde_json::Value>(&self.body).map_or_else(
            |_| String::new(),
            |v| v["error"].as_str().unwrap_or_default().to_owned(),
        )
    }
}

async fn post(url: String, header: (&str, &str)) -> Reply {
    let res = reqwest::Client::new()
        .post(url)
        .header(header.0, header.1)
        .send()
        .await
        .unwrap();
    Reply {
        status: res.status().as_u16(),
        challenge: res
            .headers()
            .get("www-authenticate")
            .map(|v| v.to_str().unwrap().to_owned()),
        body: res.text().await.unwrap(),
    }
}

async fn bearer(url: String, token: &str) -> Reply {
    post(url, ("authorization", &format!("Bearer {token}"))).await
}

/// The three tokens every placement is tried with.
struct Tokens {
    fresh: String,
    two_min: String,
    hour: String,
}

fn tokens(issuer: &TestIssuer) -> Tokens {
    Tokens {
        fresh: issuer.token().sign(),
        two_min: issuer.token().auth_time_ago(120).sign(),
        hour: issuer.token().auth_time_ago(3600).sign(),
    }
}

#[cfg(feature = "actix")]
mod actix {
    use super::*;
    use actix_web::{App, HttpResponse, HttpServer, middleware, web};
    use reauth::actix::{FreshWithin, Reauthenticated, require};

    async fn ok(user: Reauthenticated) -> HttpResponse {
        HttpResponse::Ok().body(user.freshness.as_str())
    }

    async fn fresh_300(user: FreshWithin<300>) -> HttpResponse {
        HttpResponse::Ok().body(user.freshness.as_str())
    }

    /// How many times a handler behind `require` ran: a refusal must come
    /// before the handler's side effects, not only replace its response.
    static PLAIN_RAN: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

    async fn plain() -> HttpResponse {
        PLAIN_RAN.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        HttpResponse::Ok().body("handler ran")
    }

    async fn spawn(issuer: &TestIssuer) -> String {
        // The Verifier as web::Data, the form actix users reach for first.
        let verifier = web::Data::new(issuer.verifier().await);
        let other = issuer.verifier().await;
        let server = HttpServer::new(move || {
            App::new()
                .app_data(verifier.clone())
                .service(
                    web::scope("/two-verifiers")
                        .app_data(other.clone())
                        .app_data(Requirement::none())
                        .route("/x", web::post().to(ok)),
                )
                .service(
                    web::scope("/same-verifier-twice")
                        .app_data(verifier.get_ref().clone())
                        .app_data(Requirement::none())
                        .route("/x", web::post().to(ok)),
                )
                .service(
                    web::scope("/wrapped-fresh")
                        .app_data(mins(10))
                        .wrap(middleware::from_fn(require))
                        .service(
                            web::resource("/x")
                                .app_data(mins(5))
                                .route(web::post().to(fresh_300)),
                        ),
                )
                .route("/nothing", web::post().to(ok))
                .service(
                    web::resource("/explicit-none")
                        .app_data(Requirement::none())
                        .route(web::post().to(ok)),
                )
                .service(
                    web::resource("/data")
                        .app_data(web::Data::new(mins(1)))
                        .route(web::post().to(ok)),
                )
                .service(
                    web::scope("/data-scope")
                        .app_data(web::Data::new(mins(1)))
                        .route("/x", web::post().to(ok)),
                )
                .service(
                    web::scope("/mixed").app_data(mins(10)).service(
                        web::resource("/x")
                            .app_data(web::Data::new(mins(1)))
                            .route(web::post().to(ok)),
                    ),
                )
                .service(
                    web::resource("/both-agree")
                        .app_data(mins(1))
                        .app_data(web::Data::new(mins(1)))
                        .route(web::post().to(ok)),
                )
                .service(
                    web::resource("/data-source")
                        .app_data(Requirement::none())
                        .app_data(web::Data::new(TokenSource::Header("X-ID-Token".into())))
                        .route(web::post().to(ok)),
                )
                .service(
                    web::resource("/sources-disagree")
                        .app_data(Requirement::none())
                        .app_data(TokenSource::Cookie("id_token".into()))
                        .app_data(web::Data::new(TokenSource::Header("X-ID-Token".into())))
                        .route(web::post().to(ok)),
                )
                .service(
                    web::resource("/fresh-stricter")
                        .app_data(mins(1))
                        .route(web::post().to(fresh_300)),
                )
                .route("/fresh-alone", web::post().to(fresh_300))
                .service(
                    web::scope("/wrapped-nothing")
                        .wrap(middleware::from_fn(require))
                        .route("/x", web::post().to(plain)),
                )
                .service(
                    web::scope("/wrapped-data")
                        .app_data(web::Data::new(mins(1)))
                        .wrap(middleware::from_fn(require))
                        .route("/x", web::post().to(plain)),
                )
        })
        .workers(1)
        .bind(("127.0.0.1", 0))
        .unwrap();
        let addr = server.addrs()[0];
        tokio::spawn(server.run());
        format!("http://{addr}")
    }

    #[actix_web::test]
    async fn no_requirement_is_a_500_never_a_pass() {
        let issuer = TestIssuer::start().await;
        let (base, t) = (spawn(&issuer).await, tokens(&issuer));
        for path in ["/nothing", "/wrapped-nothing/x"] {
            let r = bearer(format!("{base}{path}"), &t.hour).await;
            assert_eq!(
                (r.status, r.error()),
                (500, "server_error".into()),
                "{path}"
            );
            assert!(!r.body.contains("handler ran"), "{path}");
        }
        // Signature and claims only, when asked for explicitly.
        let r = bearer(format!("{base}/explicit-none"), &t.hour).await;
        assert_eq!((r.status, r.body.as_str()), (200, "not_required"));
    }

    #[actix_web::test]
    async fn web_data_requirement_is_honoured() {
        let issuer = TestIssuer::start().await;
        let (base, t) = (spawn(&issuer).await, tokens(&issuer));
        for path in ["/data", "/data-scope/x", "/both-agree", "/wrapped-data/x"] {
            let r = bearer(format!("{base}{path}"), &t.hour).await;
            assert_eq!(
                (r.status, r.error()),
                (401, "authentication_too_old".into()),
                "{path}"
            );
            assert!(r.challenge.unwrap().ends_with("max_age=\"60\""), "{path}");
            let r = bearer(format!("{base}{path}"), &t.fresh).await;
            assert_eq!(r.status, 200, "{path}: {}", r.body);
        }
    }

    #[actix_web::test]
    async fn disagreeing_forms_are_refused() {
        let issuer = TestIssuer::start().await;
        let (base, t) = (spawn(&issuer).await, tokens(&issuer));
        // Bare 10 min on the scope, web::Data 1 min on the resource: which
        // one is closer cannot be told, so neither is guessed.
        let r = bearer(format!("{base}/mixed/x"), &t.two_min).await;
        assert_eq!((r.status, r.error()), (500, "server_error".into()));
        let r = post(format!("{base}/sources-disagree"), ("x-id-token", &t.fresh)).await;
        assert_eq!((r.status, r.error()), (500, "server_error".into()));
        // A Verifier on the scope, a different one as web::Data on the app.
        let r = bearer(format!("{base}/two-verifiers/x"), &t.fresh).await;
        assert_eq!((r.status, r.error()), (500, "server_error".into()));
        // The same Verifier in both forms is one Verifier.
        let r = bearer(format!("{base}/same-verifier-twice/x"), &t.fresh).await;
        assert_eq!(r.status, 200, "{}", r.body);
    }

    #[actix_web::test]
    async fn web_data_token_source_is_honoured() {
        let issuer = TestIssuer::start().await;
        let (base, t) = (spawn(&issuer).await, tokens(&issuer));
        let r = post(format!("{base}/data-source"), ("x-id-token", &t.fresh)).await;
        assert_eq!(r.status, 200, "{}", r.body);
        let r = bearer(format!("{base}/data-source"), &t.fresh).await;
        assert_eq!(r.status, 401, "only X-ID-Token is read there");
    }

    #[actix_web::test]
    async fn fresh_within_keeps_a_stricter_registered_max_age() {
        let issuer = TestIssuer::start().await;
        let (base, t) = (spawn(&issuer).await, tokens(&issuer));
        let r = bearer(format!("{base}/fresh-stricter"), &t.two_min).await;
        assert_eq!(r.status, 401, "1 min registered beats the type's 300 s");
        assert!(r.challenge.unwrap().ends_with("max_age=\"60\""));
        let r = bearer(format!("{base}/fresh-alone"), &t.two_min).await;
        assert_eq!((r.status, r.body.as_str()), (200, "fresh"));
        let r = bearer(format!("{base}/fresh-alone"), &t.hour).await;
        assert!(r.challenge.unwrap().ends_with("max_age=\"300\""));
        // `require` on a 10 min scope, 5 min registered on the resource, and
        // the handler's FreshWithin<300> applied to it: the resource's
        // Requirement was enforced (tightened), so no false 500.
        let r = bearer(format!("{base}/wrapped-fresh/x"), &t.two_min).await;
        assert_eq!((r.status, r.body.as_str()), (200, "fresh"));
        let r = bearer(
            format!("{base}/wrapped-fresh/x"),
            &issuer.token().auth_time_ago(400).sign(),
        )
        .await;
        assert_eq!(r.status, 401);
        assert!(r.challenge.unwrap().ends_with("max_age=\"300\""));
    }
}

#[cfg(feature = "axum")]
mod axum {
    use super::*;
    use ::axum::extract::FromRef;
    use ::axum::routing::post as route_post;
    use ::axum::{Extension, Router};
    use reauth::Verifier;
    use reauth::axum::{FreshWithin, Reauthenticated};

    async fn ok(user: Reauthenticated) -> String {
        user.freshness.as_str().to_owned()
    }

    async fn fresh_300(user: FreshWithin<300>) -> String {
        user.freshness.as_str().to_owned()
    }

    /// An app state that also carries a Requirement: a plausible guess that
    /// the extractor does not read (it reads `Extension<Requirement>`).
    #[derive(Clone)]
    struct AppState {
        verifier: Verifier,
        #[allow(dead_code)]
        requirement: Requirement,
    }

    impl FromRef<AppState> for Verifier {
        fn from_ref(s: &AppState) -> Verifier {
            s.verifier.clone()
        }
    }

    async fn serve(app: Router) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { ::axum::serve(listener, app).await.unwrap() });
        format!("http://{addr}")
    }

    #[tokio::test]
    async fn every_placement_works_or_is_a_500() {
        let issuer = TestIssuer::start().await;
        let t = tokens(&issuer);
        let verifier = issuer.verifier().await;

        // Layered on the route, and on the router after the route: enforced.
        let on_route = Router::new()
            .route("/x", route_post(ok).layer(Extension(mins(1))))
            .with_state(verifier.clone());
        let after = Router::new()
            .route("/x", route_post(ok))
            .layer(Extension(mins(1)))
            .with_state(verifier.clone());
        // A layer reaches only the routes added before it: this one is not
        // reached. In State instead of an Extension: not read. No layer.
        let before = Router::new()
            .layer(Extension(mins(1)))
            .route("/x", route_post(ok))
            .with_state(verifier.clone());
        let in_state = Router::new()
            .route("/x", route_post(ok))
            .with_state(AppState {
                verifier: verifier.clone(),
                requirement: mins(1),
            });
        let nothing = Router::new()
            .route("/x", route_post(ok))
            .with_state(verifier.clone());
        let explicit_none = Router::new()
            .route("/x", route_post(ok).layer(Extension(Requirement::none())))
            .with_state(verifier.clone());
        let fresh_stricter = Router::new()
            .route("/x", route_post(fresh_300).layer(Extension(mins(1))))
            .with_state(verifier.clone());

        for (name, app) in [("on the route", on_route), ("after the route", after)] {
            let base = serve(app).await;
            let r = bearer(format!("{base}/x"), &t.hour).await;
            assert_eq!(
                (r.status, r.error()),
                (401, "authentication_too_old".into()),
                "{name}"
            );
            assert!(r.challenge.unwrap().ends_with("max_age=\"60\""), "{name}");
            let r = bearer(format!("{base}/x"), &t.fresh).await;
            assert_eq!((r.status, r.body.as_str()), (200, "fresh"), "{name}");
        }
        for (name, app) in [
            ("layer before the route", before),
            ("requirement in State", in_state),
            ("no requirement", nothing),
        ] {
            let base = serve(app).await;
            let r = bearer(format!("{base}/x"), &t.hour).await;
            assert_eq!(
                (r.status, r.error()),
                (500, "server_error".into()),
                "{name}"
            );
        }
        let base = serve(explicit_none).await;
        let r = bearer(format!("{base}/x"), &t.hour).await;
        assert_eq!((r.status, r.body.as_str()), (200, "not_required"));
        let base = serve(fresh_stricter).await;
        let r = bearer(format!("{base}/x"), &t.two_min).await;
        assert_eq!(r.status, 401, "1 min registered beats the type's 300 s");
        assert!(r.challenge.unwrap().ends_with("max_age=\"60\""));
    }
}
