//! A tonic gRPC server (the standard health service) behind
//! `reauth::tower::ReauthLayer`, with the embedded test issuer: every call
//! needs an ID token whose login is at most five minutes old.
//!
//! ```text
//! cargo run --example tonic --features tower,testing
//! ```
//!
//! It calls itself three times with tonic's generated health client (no
//! token, a stale login, a fresh one), prints what each got, then keeps
//! serving and prints `grpc_health_probe` commands to try. A refusal is a gRPC status (`Unauthenticated`, `PermissionDenied`,
//! `Unavailable`) with the RFC 6750 / RFC 9470 `www-authenticate`
//! challenge in the response metadata.

use std::time::Duration;

use reauth::Requirement;
use reauth::testing::TestIssuer;
use reauth::tower::ReauthLayer;
use tonic::transport::Channel;
use tonic::transport::server::TcpIncoming;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // In production: `Verifier::discover(VerifierConfig::builder(<your
    // issuer>).audience(<your client id>).build()?)`.
    let issuer = TestIssuer::start().await;
    let verifier = issuer.verifier().await;

    let (reporter, health) = tonic_health::server::health_reporter();
    reporter
        .set_service_status("", tonic_health::ServingStatus::Serving)
        .await;

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let fresh = issuer.token().sign();
    let stale = issuer.token().auth_time_ago(3600).sign();
    println!("gRPC health service on {addr}, login at most 300 s old required");
    println!("fresh token: {fresh}");
    println!("stale token: {stale}");

    let server = tokio::spawn(
        tonic::transport::Server::builder()
            .layer(ReauthLayer::new(
                verifier,
                Requirement::max_age(Duration::from_secs(300)),
            ))
            .add_service(health)
            .serve_with_incoming(TcpIncoming::from(listener)),
    );

    let channel = Channel::from_shared(format!("http://{addr}"))?
        .connect()
        .await?;
    let mut client = HealthClient::new(channel);
    for (what, token) in [
        ("no token", None),
        ("stale login", Some(&stale)),
        ("fresh login", Some(&fresh)),
    ] {
        let mut request = tonic::Request::new(HealthCheckRequest::default());
        if let Some(token) = token {
            request
                .metadata_mut()
                .insert("authorization", format!("Bearer {token}").parse()?);
        }
        match client.check(request).await {
            Ok(response) => println!("{what}: OK, {:?}", response.into_inner().status()),
            Err(status) => println!(
                "{what}: {:?} {:?}, www-authenticate: {:?}",
                status.code(),
                status.message(),
                status.metadata().get("www-authenticate"),
            ),
        }
    }

    println!("serving; try (https://github.com/grpc-ecosystem/grpc-health-probe):");
    println!("  grpc_health_probe -addr {addr} -rpc-header 'authorization: Bearer {fresh}'");
    println!("  grpc_health_probe -addr {addr}   (refused: Unauthenticated)");
    server.await??;
    Ok(())
}
