//! The smallest actix-web app guarded by reauth.
//!
//! ```text
//! REAUTH_ISSUER=https://myapp.authgear.cloud REAUTH_AUDIENCE=my-client-id \
//!   cargo run --example actix
//! ```

use std::time::Duration;

use actix_web::{App, HttpResponse, HttpServer, web};
use reauth::actix::{FreshWithin, Reauthenticated};
use reauth::{Requirement, Verifier, VerifierConfig};

/// Any valid ID token.
async fn me(user: Reauthenticated) -> HttpResponse {
    HttpResponse::Ok().body(format!("hello {}", user.subject()))
}

/// A login at most five minutes old, from the type.
async fn change_password(user: FreshWithin<300>) -> HttpResponse {
    HttpResponse::Ok().body(format!("password changed for {}", user.subject()))
}

#[actix_web::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let issuer =
        std::env::var("REAUTH_ISSUER").unwrap_or_else(|_| "https://myapp.authgear.cloud".into());
    let audience = std::env::var("REAUTH_AUDIENCE").unwrap_or_else(|_| "my-client-id".into());
    let verifier =
        Verifier::discover(VerifierConfig::builder(issuer).audience(audience).build()?).await?;
    HttpServer::new(move || {
        App::new()
            .app_data(verifier.clone())
            .route("/me", web::get().to(me))
            .route("/password", web::post().to(change_password))
            .service(
                web::scope("/danger")
                    // Every route in this scope: a login at most five minutes old.
                    .app_data(Requirement::max_age(Duration::from_secs(300)))
                    .route("/delete-account", web::post().to(me)),
            )
    })
    .bind(("127.0.0.1", 8080))?
    .run()
    .await?;
    Ok(())
}
