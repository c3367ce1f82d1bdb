// Testing your own guarded routes with the embedded issuer (feature
// `testing`). TestIssuer serves on 127.0.0.1 and needs a Tokio runtime:
// `#[actix_web::test]` and `#[tokio::test]` both provide one.
use std::time::Duration;

use reauth::Requirement;
use reauth::testing::TestIssuer;

async fn delete_account(user: reauth::actix::Reauthenticated) -> actix_web::HttpResponse {
    actix_web::HttpResponse::Ok().body(format!("deleted {}", user.subject()))
}

#[actix_web::test]
async fn actix_route_demands_a_recent_login() {
    use actix_web::{App, test, web};

    let issuer = TestIssuer::start().await;
    let app = test::init_service(
        App::new().app_data(issuer.verifier().await).service(
            web::resource("/account/delete")
                .app_data(Requirement::max_age(Duration::from_secs(300)))
                .route(web::post().to(delete_account)),
        ),
    )
    .await;
    let call = |token: String| {
        test::TestRequest::post()
            .uri("/account/delete")
            .insert_header(("Authorization", format!("Bearer {token}")))
            .to_request()
    };

    // Logged in just now: 200.
    let res = test::call_service(&app, call(issuer.token().sign())).await;
    assert_eq!(res.status(), 200);

    // Logged in an hour ago: 401 with the challenge the client acts on.
    let res = test::call_service(&app, call(issuer.token().auth_time_ago(3600).sign())).await;
    assert_eq!(res.status(), 401);
    let challenge = res
        .headers()
        .get("www-authenticate")
        .unwrap()
        .to_str()
        .unwrap();
    assert!(challenge.contains("insufficient_user_authentication"));
    assert!(challenge.ends_with("max_age=\"300\""));
}

async fn change_password(user: reauth::axum::Reauthenticated) -> String {
    format!("changed for {}", user.subject())
}

#[tokio::test]
async fn axum_route_demands_a_recent_login() {
    use axum::body::Body;
    use axum::http::Request;
    use axum::{Extension, Router, routing::post};
    use tower::ServiceExt; // oneshot (tower = { version = "0.5", features = ["util"] })

    let issuer = TestIssuer::start().await;
    let app = Router::new()
        .route(
            "/password",
            post(change_password).layer(Extension(Requirement::max_age(Duration::from_secs(300)))),
        )
        .with_state(issuer.verifier().await);
    let call = |token: String| {
        Request::post("/password")
            .header("Authorization", format!("Bearer {token}"))
            .body(Body::empty())
            .unwrap()
    };

    let res = app
        .clone()
        .oneshot(call(issuer.token().sign()))
        .await
        .unwrap();
    assert_eq!(res.status(), 200);

    let stale = issuer.token().auth_time_ago(3600).sign();
    let res = app.oneshot(call(stale)).await.unwrap();
    assert_eq!(res.status(), 401);
    let challenge = res.headers()["www-authenticate"].to_str().unwrap();
    assert!(challenge.ends_with("max_age=\"300\""));
}
