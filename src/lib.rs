//! Demand a **recent login** in front of account deletion, payouts, password
//! and role changes.
//!
//! `reauth` verifies the OpenID Connect ID token (or RFC 9068 access token)
//! that comes with a sensitive request, checks that the login behind it
//! (`auth_time`) is recent enough for the route, and answers failures the
//! way clients can act on: RFC 9470 `insufficient_user_authentication` with
//! `max_age`. Keys are cached as the issuer's `Cache-Control` says, and a
//! user's sessions can be revoked ("log out all devices"), across instances
//! through Redis.
//!
//! # In one example
//!
//! One [`Verifier`] per issuer, built at start-up; one [`Requirement`] per
//! route. This runs against [`testing::TestIssuer`], a real issuer on
//! 127.0.0.1 (in production: your issuer's URL):
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use std::time::Duration;
//!
//! use reauth::testing::TestIssuer;
//! use reauth::{Requirement, Verifier, VerifierConfig};
//!
//! let issuer = TestIssuer::start().await;
//! let verifier = Verifier::discover(
//!     VerifierConfig::builder(issuer.issuer()) // e.g. "https://myapp.authgear.cloud"
//!         .audience("test-client") // your client id
//!         .build()?,
//! )
//! .await?;
//! let delete_account = Requirement::max_age(Duration::from_secs(300));
//!
//! let just_now = issuer.token().sign();
//! assert_eq!(verifier.verify(&just_now, &delete_account).await?.subject(), "user-1");
//!
//! let an_hour_ago = issuer.token().auth_time_ago(3600).sign();
//! let err = verifier.verify(&an_hour_ago, &delete_account).await.unwrap_err();
//! assert_eq!((err.code(), err.status()), ("authentication_too_old", 401));
//! assert!(err.www_authenticate().unwrap().ends_with("max_age=\"300\""));
//! # Ok(())
//! # }
//! ```
//!
//! In a web framework, a handler takes an extractor instead:
//! [`actix::Reauthenticated`] (or [`actix::FreshWithin<300>`](actix::FreshWithin),
//! [`actix::MaybeReauthenticated`] for routes that serve guests too) and
//! [`axum::Reauthenticated`] likewise. The `Verifier` (or an [`IssuerSet`])
//! and the route's `Requirement` are registered as app data (actix) or
//! state and an `Extension` (axum); [`TokenSource`] changes where the token
//! is read, [`ErrorRenderer`] how refusals look. Any tower service (a
//! tonic gRPC server, a hyper service) is guarded by
//! [`tower::ReauthLayer`]. Other frameworks use [`guard`], or
//! [`Verifier::verify`] directly.
//!
//! # Features
//!
//! | feature | default | gives |
//! |---|---|---|
//! | `actix` | yes | [`actix`]: the actix-web extractors, the [`actix::require`] scope middleware, the back-channel logout receiver |
//! | `axum` | | [`axum`]: the same extractors for axum |
//! | `testing` | | [`testing`]: [`testing::TestIssuer`], a real local issuer for your route tests (a dev-dependency) |
//! | `stepup` | | [`stepup`]: browser step-up, the authorization-code round trip that sends the user back to the issuer with `max_age` |
//! | `redis` | | [`revocation::RedisStore`] and [`revocation::RedisWriter`]: revocations shared by every instance through Redis (and [`stepup::RedisPendingStore`] with `stepup`) |
//! | `gate` | | [`gate`]: the forward-auth gate's per-route policy file and decisions, for embedding them; [`gate::forward`]: one forward-auth request decided without a web framework |
//! | `signals` | | [`signals`]: revocation from the identity provider, an OpenID Shared Signals (SSF 1.0) receiver for CAEP and RISC events, pushed or polled |
//! | `tower` | | [`tower`]: [`tower::ReauthLayer`], a `tower::Layer` that guards any tower service (axum routers, tonic gRPC with refusals as gRPC statuses, hyper services) |
//! | `cli` | | the `reauth` binary (`verify`, `serve`, `revoke`); turns on `actix`, `redis` and `gate`. `cargo install --path . --features cli` |
//! | `fuzzing` | | hooks for the cargo-fuzz targets under `fuzz/`; not an API |
//!
//! The crate is not published on crates.io yet: depend on it by path or
//! git, e.g. `reauth = { path = "../reauth" }` (see the README's "Use it in
//! your app").
//!
//! # Where to read next
//!
//! - [`Verifier`], [`VerifierConfig`] (every limit and its default),
//!   [`Requirement`], [`Verified`], and the errors: [`VerifyError`]
//!   ([`Rejection`] codes, HTTP status and challenge), [`InitError`].
//! - Several issuers and tenants: [`IssuerSet`], [`TenantTemplate`].
//!   Access tokens: [`TokenKind`]. Revocation: [`revocation`].
//! - The README is the user guide, tested by the crate's tests: see its
//!   "The library in five minutes", "Testing your routes", "Browser apps",
//!   "Errors", "The gate: `reauth serve`", "Revocation" and "SECURITY"
//!   sections.
#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]
// The docs link items of every feature; `cargo doc --all-features` (CI, with
// warnings denied, and docs.rs) checks them, a build without some features
// cannot resolve those.
#![cfg_attr(
    not(all(
        feature = "actix",
        feature = "axum",
        feature = "testing",
        feature = "stepup",
        feature = "redis",
        feature = "gate",
        feature = "signals",
        feature = "tower"
    )),
    allow(rustdoc::broken_intra_doc_links)
)]

/// The README's Rust blocks, compiled and run as doctests (the README is the
/// tested user guide, no longer the crate's front page).
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
mod readme {}

// The layers, from the ground up; each uses only those before it
// (`tests/layering.rs` keeps it so).
mod clock;
mod config;
mod error;
pub mod guard;
mod jwt;
mod provider;
pub mod revocation;
mod verify;

#[cfg(feature = "actix")]
pub mod actix;
#[cfg(feature = "axum")]
pub mod axum;
#[cfg(feature = "gate")]
pub mod gate;
#[cfg(feature = "signals")]
pub mod signals;
#[cfg(feature = "stepup")]
pub mod stepup;
#[cfg(feature = "testing")]
pub mod testing;
#[cfg(feature = "tower")]
pub mod tower;

#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod __fuzz {
    pub use crate::fuzzing::*;
}
#[cfg(feature = "fuzzing")]
mod fuzzing;

pub use clock::{Clock, FakeClock, SharedClock, SystemClock};
pub use config::{
    AUTHGEAR_CAN_REAUTHENTICATE, MAX_DURATION, MAX_HTTP_TIMEOUT, MAX_LEEWAY, ReauthPolicy,
    VerifierConfig, VerifierConfigBuilder,
};
pub use error::challenge::BearerChallenge;
pub use error::{
    ConfigError, FetchError, InitError, LogoutError, Rejection, RejectionKind, RevokeError,
    VerifyError,
};
pub use guard::metadata::{
    METADATA_PATH, ProtectedResourceMetadata, ProtectedResourceMetadataBuilder,
};
pub use guard::render::{Answer, ErrorBody, ErrorRenderer, Redirect, Refused};
pub use guard::{GuardError, TokenSource};
pub use jsonwebtoken::Algorithm;
pub use jwt::alg::{SUPPORTED_ALGORITHMS, algorithm_named};
pub use jwt::claims::{ClaimsMap, Confirmation, IdTokenClaims};
pub use jwt::logout::{BACKCHANNEL_LOGOUT_EVENT, LogoutEvent};
pub use jwt::token_kind::TokenKind;
pub use verify::issuers::{IssuerSet, TenantTemplate, Verifiers, valid_tenant};
pub use verify::requirement::{DpopPolicy, Freshness, Requirement};
pub use verify::stats::{RevocationSync, VerifierStats};
pub use verify::verifier::{DpopPresentation, Verified, Verifier};
