//! The smallest axum app guarded by reauth (`--features axum`).
//!
//! ```text
//! REAUTH_ISSUER=https://myapp.authgear.cloud REAUTH_AUDIENCE=my-client-id \
//!   cargo run --example axum --features axum
//! ```
//!
//! `REAUTH_BIND` (default `127.0.0.1:8080`) is the address to listen on;
//! `RUST_LOG` (default `info`) filters the logs, written to stderr: a
//! misconfigured route answers 500 and reauth logs the fix there.

use std::time::Duration;

use axum::routing::{get, post};
use axum::{Extension, Router};
use reauth::axum::{FreshWithin, Reauthenticated};
use reauth::{Requirement, Verifier, VerifierConfig};

/// Any valid ID token (the route's `Extension(Requirement::none())`).
async fn me(user: Reauthenticated) -> String {
    format!("hello {}", user.subject())
}

/// A login at most five minutes old, from the type.
async fn change_password(user: FreshWithin<300>) -> String {
    format!("password changed for {}", user.subject())
}

/// A login at most five minutes old, from the route's `Requirement`.
async fn delete_account(user: Reauthenticated) -> String {
    format!("deleted {}", user.subject())
}

#[tokio::main]
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
    // Every `Reauthenticated` route needs a `Requirement` layered on it
    // (none at all is a 500, never a pass): `Requirement::none()` checks the
    // signature and claims only.
    let app = Router::new()
        .route("/me", get(me).layer(Extension(Requirement::none())))
        .route("/password", post(change_password))
        .route(
            "/account/delete",
            post(delete_account).layer(Extension(Requirement::max_age(Duration::from_secs(300)))),
        )
        .with_state(verifier);
    let listener = tokio::net::TcpListener::bind(&bind).await?;
    println!("listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app).await?;
    Ok(())
}
