//! The step-up example (`examples/stepup.rs`) in axum: the same flags, the
//! same routes and the same answers, so one test suite runs against both
//! (README "Browser apps"). Try it in a browser:
//!
//! ```text
//! cargo run --example stepup_axum -- --issuer URL --client-id ID [--client-secret SECRET] \
//!     --public-url http://127.0.0.1:PORT --bind 127.0.0.1:PORT [--max-age SECONDS]
//! ```
//!
//! Without `--issuer` it runs offline on the embedded test issuer (which
//! logs `user-1` in at once), on http://127.0.0.1:8080 unless told otherwise.
//! Register `<public-url>/callback` as the client's redirect URI.

#[path = "shared/stepup.rs"]
mod shared;

use std::time::Duration;

use axum::extract::Query;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Json, Response};
use axum::routing::{MethodRouter, get, post};
use axum::{Extension, Router};
use reauth::axum::{MaybeReauthenticated, Reauthenticated};
use reauth::{Requirement, Verifier};
use shared::esc;

fn page(title: &str, body: &str) -> Response {
    (
        [(header::CACHE_CONTROL, "no-store")],
        Html(format!(
            "<!doctype html><meta charset=utf-8><title>{title}</title><h1>{title}</h1>{body}"
        )),
    )
        .into_response()
}

fn wants_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("application/json"))
}

async fn home() -> Response {
    page(
        "reauth step-up example",
        "<p>Public page. <a href=\"/login\">Log in</a>, then see <a href=\"/account\">your account</a>.</p>",
    )
}

async fn login(parts: axum::http::request::Parts, q: Query<reauth::axum::SignIn>) -> Response {
    reauth::axum::sign_in_to(&parts, q.return_to.as_deref().unwrap_or("/account")).await
}

async fn account(user: MaybeReauthenticated) -> Response {
    let Some(user) = user.0 else {
        return (StatusCode::FOUND, [(header::LOCATION, "/login")]).into_response();
    };
    let now = chrono::Utc::now().timestamp();
    let age = user
        .auth_time()
        .map_or("unknown".into(), |t| format!("{} s", now - t));
    page(
        "Your account",
        &format!(
            "<p>Signed in as <b>{}</b>; last login {age} ago.</p>\
             <p><a href=\"/account/delete\">Delete my account</a> (needs a recent login)</p>\
             <form method=post action=/logout><button>Log out</button></form>",
            esc(user.subject())
        ),
    )
}

async fn confirm_delete(headers: HeaderMap, user: Reauthenticated) -> Response {
    if wants_json(&headers) {
        return Json(serde_json::json!({
            "confirm": "POST /account/delete", "sub": user.subject(), "auth_time": user.auth_time(),
        }))
        .into_response();
    }
    page(
        "Delete your account?",
        &format!(
            "<p>You logged in again at {}. This deletes <b>{}</b>.</p>\
             <form method=post action=/account/delete><button>Delete it</button></form>",
            user.auth_time().unwrap_or_default(),
            esc(user.subject())
        ),
    )
}

/// A cross-site post never gets here: with a `StepUp` registered, reauth
/// refuses state-changing requests from other sites (403 `cross_site_request`).
async fn delete(headers: HeaderMap, user: Reauthenticated) -> Response {
    if wants_json(&headers) {
        return Json(serde_json::json!({ "deleted": user.subject() })).into_response();
    }
    page(
        "Account deleted",
        &format!(
            "<p>(Not really: this is an example.) Deleted <b>{}</b>.</p>",
            esc(user.subject())
        ),
    )
}

/// The actix example's `App::route`s answer other methods with 404 (its
/// `web::resource`s with 405): the same here, so both answer alike.
fn only(route: MethodRouter<Verifier>) -> MethodRouter<Verifier> {
    route.fallback(|| async { StatusCode::NOT_FOUND })
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let args = shared::args();
    let setup = shared::setup(&args).await;
    let (verifier, step) = (setup.verifier.clone(), setup.step.clone());
    let sensitive = Requirement::max_age(Duration::from_secs(args.max_age));
    let app = Router::new()
        .route("/", only(get(home)))
        .route("/login", only(get(login)))
        .route("/callback", only(get(reauth::axum::stepup_callback)))
        .route("/logout", only(post(reauth::axum::sign_out)))
        .route(
            "/account",
            get(account).layer(Extension(Requirement::none())),
        )
        .route(
            "/account/delete",
            get(confirm_delete).post(delete).layer(Extension(sensitive)),
        )
        // After the routes: axum layers reach only the routes added before them.
        .layer(Extension(step))
        .with_state(verifier);
    let listener = tokio::net::TcpListener::bind(&args.bind).await?;
    shared::banner(&args, &setup);
    axum::serve(listener, app).await
}
