//! tower adapter (feature `tower`): a [`ReauthLayer`] that guards any
//! tower service (an axum `Router`, a tonic gRPC server, a hyper service)
//! with a [`Requirement`](crate::Requirement), putting the
//! [`Verified`](crate::Verified) token in the request extensions. No
//! decisions here: the token is read by
//! [`TokenSource::read_request`](crate::TokenSource::read_request), checked
//! by [`guard::check_with`](crate::guard::check_with), and a refusal is the
//! one neutral [`Answer`](crate::Answer) of
//! [`Refused::answer`](crate::Refused::answer), converted to an
//! `http::Response` in one function ([`answer_response`]).
//!
//! A gRPC request (HTTP/2, `content-type: application/grpc`, `+proto`...) is
//! refused the gRPC way ([`grpc_answer`]): a status, `UNAUTHENTICATED`
//! (401), `PERMISSION_DENIED` (403), `UNAVAILABLE` (503) or `INTERNAL`
//! (500), with the same RFC 6750 / RFC 9470 `www-authenticate` challenge in
//! the response metadata, so a gRPC client can step up (log the user in
//! again with the challenge's `max_age`) and retry.
//!
//! A tonic server whose every call needs a login at most five minutes old
//! (`examples/tonic.rs` runs one):
//!
//! ```no_run
//! use std::time::Duration;
//!
//! use reauth::tower::ReauthLayer;
//! use reauth::{Requirement, Verifier};
//!
//! async fn serve(verifier: Verifier) -> Result<(), tonic::transport::Error> {
//!     let (_reporter, health) = tonic_health::server::health_reporter();
//!     tonic::transport::Server::builder()
//!         .layer(ReauthLayer::new(
//!             verifier,
//!             Requirement::max_age(Duration::from_secs(300)),
//!         ))
//!         .add_service(health)
//!         .serve("127.0.0.1:50051".parse().unwrap())
//!         .await
//! }
//! ```
//!
//! A handler reads the token from the request's extensions
//! (`request.extensions().get::<reauth::Verified>()` in tonic,
//! `Extension<Verified>` in axum). A client that is refused reads the
//! challenge from the status:
//!
//! ```no_run
//! # async fn call(mut client: tonic_health::pb::health_client::HealthClient<tonic::transport::Channel>) {
//! match client.check(tonic_health::pb::HealthCheckRequest::default()).await {
//!     Err(status) if status.code() == tonic::Code::Unauthenticated => {
//!         // e.g. `Bearer error="insufficient_user_authentication", ..., max_age="300"`
//!         let challenge = status.metadata().get("www-authenticate");
//!         # let _ = challenge;
//!     }
//!     _ => {}
//! }
//! # }
//! ```

mod answer;
mod layer;

pub use answer::{answer_response, grpc_answer, grpc_code, metadata_response};
pub use layer::{GuardedBody, Reauth, ReauthLayer, ResponseFuture};
