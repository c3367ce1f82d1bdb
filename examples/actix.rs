//! The smallest actix-web app guarded by reauth.
//!
//! ```text
//! REAUTH_ISSUER=https://myapp.authgear.cloud REAUTH_AUDIENCE=my-client-id \
//!   cargo run --example actix
//! ```
//!
//! `REAUTH_BIND` (default `127.0.0.1:8080`) is the address to listen on;
//! `RUST_LOG` (default `info`) filters the logs, written to stderr: a
//! misconfigured route answers 500 and reauth logs the fix there.

use std::time::Duration;

use actix_web::{App, HttpResponse, HttpServer, web};
use reauth::actix::{FreshWithin, Reauthenticated};
use reauth::{Requirement, Verifier, VerifierConfig};

/// Any valid ID token (the route registers `Requirement::none()`).
async fn me(user: Reauthenticated) -> HttpResponse {
    HttpResponse::Ok().body(format!("hello {}", user.subject()))
}

/// A login at most five minutes old, from the type.
async fn change_password(user: FreshWithin<300>) -> HttpResponse {
    HttpResponse::Ok().body(format!("password changed for {}", user.subject()))
}

/// A login at most five minutes old, from the scope's `Requirement`.
async fn delete_account(user: Reauthenticated) -> HttpResponse {
    HttpResponse::Ok().body(format!("deleted {}", user.subject()))
}

#[actix_web::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // reauth logs through `tracing`: without a subscriber, the line that
    // names the fix for a 500 goes nowhere.
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();

    let issuer =
        std::env::var("REAUTH_ISSUER").unwrap_or_else(|_| "https://myapp.authgear.cloud".into());
    let audience = std::env::var("REAUTH_AUDIENCE").unwrap_or_else(|_| "my-client-id".into());
    let bind = std::env::var("REAUTH_BIND").unwrap_or_else(|_| "127.0.0.1:8080".into());
    let verifier =
        Verifier::discover(VerifierConfig::builder(issuer).audience(audience).build()?).await?;
    let server = HttpServer::new(move || {
        App::new()
            .app_data(verifier.clone())
            // Every `Reauthenticated` route needs a `Requirement` that
            // reaches it (none at all is a 500, never a pass):
            // `Requirement::none()` checks the signature and claims only.
            .service(
                web::resource("/me")
                    .app_data(Requirement::none())
                    .route(web::get().to(me)),
            )
            .route("/password", web::post().to(change_password))
            .service(
                web::scope("/danger")
                    // Every route in this scope: a login at most five minutes old.
                    .app_data(Requirement::max_age(Duration::from_secs(300)))
                    .route("/delete-account", web::post().to(delete_account)),
            )
    })
    .bind(bind)?;
    for addr in server.addrs() {
        println!("listening on http://{addr}");
    }
    server.run().await?;
    Ok(())
}
