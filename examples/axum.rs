//! The smallest axum app guarded by reauth (`--features axum`).
//!
//! ```text
//! REAUTH_ISSUER=https://myapp.authgear.cloud REAUTH_AUDIENCE=my-client-id \
//!   cargo run --example axum --features axum
//! ```

use std::time::Duration;

use axum::routing::{get, post};
use axum::{Extension, Router};
use reauth::axum::{FreshWithin, Reauthenticated};
use reauth::{Requirement, Verifier, VerifierConfig};

async fn me(user: Reauthenticated) -> String {
    format!("hello {}", user.subject())
}

async fn change_password(user: FreshWithin<300>) -> String {
    format!("password changed for {}", user.subject())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let issuer =
        std::env::var("REAUTH_ISSUER").unwrap_or_else(|_| "https://myapp.authgear.cloud".into());
    let audience = std::env::var("REAUTH_AUDIENCE").unwrap_or_else(|_| "my-client-id".into());
    let verifier =
        Verifier::discover(VerifierConfig::builder(issuer).audience(audience).build()?).await?;
    let app = Router::new()
        .route("/me", get(me))
        .route("/password", post(change_password))
        .route(
            "/account/delete",
            post(me).layer(Extension(Requirement::max_age(Duration::from_secs(300)))),
        )
        .with_state(verifier);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
    axum::serve(listener, app).await?;
    Ok(())
}
