//! A server-rendered app whose sensitive routes send the browser to the
//! issuer to step up (README "Browser apps"). Try it in a browser:
//!
//! ```text
//! cargo run --example stepup -- --issuer URL --client-id ID [--client-secret SECRET] \
//!     --public-url http://127.0.0.1:PORT --bind 127.0.0.1:PORT [--max-age SECONDS]
//! ```
//!
//! Without `--issuer` it runs offline on the embedded test issuer (which
//! logs `user-1` in at once), on http://127.0.0.1:8080 unless told otherwise.
//! Register `<public-url>/callback` as the client's redirect URI.

#[path = "shared/stepup.rs"]
mod shared;

use std::time::Duration;

use actix_web::http::header;
use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use reauth::Requirement;
use reauth::actix::{MaybeReauthenticated, Reauthenticated};
use shared::esc;

fn page(title: &str, body: &str) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(format!(
            "<!doctype html><meta charset=utf-8><title>{title}</title><h1>{title}</h1>{body}"
        ))
}

fn wants_json(req: &HttpRequest) -> bool {
    req.headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("application/json"))
}

async fn home() -> HttpResponse {
    page(
        "reauth step-up example",
        "<p>Public page. <a href=\"/login\">Log in</a>, then see <a href=\"/account\">your account</a>.</p>",
    )
}

async fn login(req: HttpRequest, q: web::Query<reauth::actix::SignIn>) -> HttpResponse {
    reauth::actix::sign_in_to(&req, q.return_to.as_deref().unwrap_or("/account")).await
}

async fn account(user: MaybeReauthenticated) -> HttpResponse {
    let Some(user) = user.0 else {
        return HttpResponse::Found()
            .insert_header((header::LOCATION, "/login"))
            .finish();
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

async fn confirm_delete(req: HttpRequest, user: Reauthenticated) -> HttpResponse {
    if wants_json(&req) {
        return HttpResponse::Ok().json(serde_json::json!({
            "confirm": "POST /account/delete", "sub": user.subject(), "auth_time": user.auth_time(),
        }));
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
async fn delete(req: HttpRequest, user: Reauthenticated) -> HttpResponse {
    if wants_json(&req) {
        return HttpResponse::Ok().json(serde_json::json!({ "deleted": user.subject() }));
    }
    page(
        "Account deleted",
        &format!(
            "<p>(Not really: this is an example.) Deleted <b>{}</b>.</p>",
            esc(user.subject())
        ),
    )
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let args = shared::args();
    let setup = shared::setup(&args).await;
    let (verifier, step) = (setup.verifier.clone(), setup.step.clone());
    let sensitive = Requirement::max_age(Duration::from_secs(args.max_age));
    let server = HttpServer::new(move || {
        App::new()
            .app_data(verifier.clone())
            .app_data(step.clone())
            .route("/", web::get().to(home))
            .route("/login", web::get().to(login))
            .route("/callback", web::get().to(reauth::actix::stepup_callback))
            .route("/logout", web::post().to(reauth::actix::sign_out))
            .service(
                web::resource("/account")
                    .app_data(Requirement::none())
                    .route(web::get().to(account)),
            )
            .service(
                web::resource("/account/delete")
                    .app_data(sensitive.clone())
                    .route(web::get().to(confirm_delete))
                    .route(web::head().to(confirm_delete))
                    .route(web::post().to(delete)),
            )
    })
    .workers(2)
    .bind(&args.bind)?;
    shared::banner(&args, &setup);
    server.run().await
}
