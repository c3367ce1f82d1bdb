//! Any framework: one async call. Prints the verdict for a token given on
//! the command line.
//!
//! ```text
//! REAUTH_ISSUER=https://myapp.authgear.cloud REAUTH_AUDIENCE=my-client-id \
//!   cargo run --example plain_function -- "$ID_TOKEN"
//! ```

use std::time::Duration;

use reauth::{Requirement, Verifier, VerifierConfig};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let issuer =
        std::env::var("REAUTH_ISSUER").unwrap_or_else(|_| "https://myapp.authgear.cloud".into());
    let audience = std::env::var("REAUTH_AUDIENCE").unwrap_or_else(|_| "my-client-id".into());
    let token = std::env::args()
        .nth(1)
        .ok_or("usage: plain_function ID_TOKEN")?;

    // Once, at start-up: discovery, then keys (cached, refreshed as needed).
    let verifier =
        Verifier::discover(VerifierConfig::builder(issuer).audience(audience).build()?).await?;

    // Per request: the whole decision.
    let requirement = Requirement::max_age(Duration::from_secs(300));
    match verifier.verify(&token, &requirement).await {
        Ok(ok) => println!(
            "accepted: sub={} freshness={}",
            ok.subject(),
            ok.freshness.as_str()
        ),
        Err(e) => {
            // Map to your framework's response: status, challenge, JSON body.
            println!("{} {}", e.status(), e.to_json());
            if let Some(challenge) = e.www_authenticate() {
                println!("WWW-Authenticate: {challenge}");
            }
        }
    }
    Ok(())
}
