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

use std::time::Duration;

use actix_web::http::header;
use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use reauth::actix::{MaybeReauthenticated, Reauthenticated};
use reauth::stepup::{StepUp, StepUpConfig};
use reauth::testing::{TEST_CLIENT_ID, TestIssuer};
use reauth::{Requirement, Verifier, VerifierConfig};

struct Args {
    issuer: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
    public_url: String,
    bind: String,
    max_age: u64,
}

const USAGE: &str = "usage: stepup [--issuer URL --client-id ID [--client-secret SECRET]] \
                     [--public-url http://127.0.0.1:PORT] [--bind 127.0.0.1:PORT] [--max-age SECONDS]";

fn args() -> Result<Args, String> {
    let mut a = Args {
        issuer: None,
        client_id: None,
        client_secret: None,
        public_url: "http://127.0.0.1:8080".into(),
        bind: "127.0.0.1:8080".into(),
        max_age: 300,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        if flag == "--help" || flag == "-h" {
            return Err(USAGE.into());
        }
        let value = it.next().ok_or(format!("{flag} needs a value\n{USAGE}"))?;
        match flag.as_str() {
            "--issuer" => a.issuer = Some(value),
            "--client-id" => a.client_id = Some(value),
            "--client-secret" => a.client_secret = Some(value),
            "--public-url" => a.public_url = value.trim_end_matches('/').to_owned(),
            "--bind" => a.bind = value,
            "--max-age" => {
                a.max_age = value
                    .parse()
                    .map_err(|_| format!("--max-age: {value:?} is not a number of seconds"))?;
            }
            other => return Err(format!("unknown argument {other}\n{USAGE}")),
        }
    }
    if a.issuer.is_some() && a.client_id.is_none() {
        return Err(format!("--issuer needs --client-id\n{USAGE}"));
    }
    Ok(a)
}

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

/// HTML-escapes what came from a token.
fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
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
    let args = match args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    // Kept alive for the whole run when there is no --issuer.
    let mut embedded = None;
    let (issuer, client_id) = match (&args.issuer, &args.client_id) {
        (Some(i), Some(c)) => (i.clone(), c.clone()),
        _ => {
            let test = TestIssuer::start().await;
            let url = test.issuer().to_owned();
            embedded = Some(test);
            (url, args.client_id.clone().unwrap_or(TEST_CLIENT_ID.into()))
        }
    };
    let fail = |what: &str, e: &dyn std::fmt::Display| -> ! {
        eprintln!("stepup: {what}: {e}");
        std::process::exit(1);
    };
    let config = VerifierConfig::builder(&issuer)
        .audience(&client_id)
        .build()
        .unwrap_or_else(|e| fail("configuration", &e));
    let verifier = Verifier::discover(config)
        .await
        .unwrap_or_else(|e| fail("discovery", &e));
    // Pending step-ups are sealed with this key: a random one per run (a
    // restart forgets step-ups in flight). Production: load 32+ secret
    // bytes shared by every instance.
    let mut key = [0u8; 32];
    aws_lc_rs::rand::fill(&mut key).expect("random key");
    let mut step =
        StepUpConfig::builder(&client_id, format!("{}/callback", args.public_url)).cookie_key(&key);
    if let Some(secret) = &args.client_secret {
        step = step.client_secret(secret);
    }
    let step = step
        .build()
        .and_then(|c| StepUp::new(verifier.clone(), c))
        .unwrap_or_else(|e| fail("step-up", &e));
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
    println!(
        "reauth step-up example on {} (issuer {issuer}{})",
        args.public_url,
        if embedded.is_some() {
            ", embedded: logs user-1 in at once"
        } else {
            ""
        }
    );
    println!(
        "open {}/account in a browser; /account/delete needs a login at most {} s old",
        args.public_url, args.max_age
    );
    server.run().await
}
