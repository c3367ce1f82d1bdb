#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod challenge;
mod claims;
mod clock;
mod config;
mod discovery;
mod error;
mod freshness;
pub mod guard;
mod http;
mod issuers;
mod json;
mod keys;
mod logout;
mod memo;
mod render;
mod requirement;
pub mod revocation;
mod stats;
mod token;
mod token_kind;
mod verifier;

#[cfg(feature = "actix")]
pub mod actix;
#[cfg(feature = "axum")]
pub mod axum;
#[cfg(feature = "gate")]
pub mod gate;
#[cfg(feature = "stepup")]
pub mod stepup;
#[cfg(feature = "testing")]
pub mod testing;

#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod __fuzz {
    pub use crate::fuzzing::*;
}
#[cfg(feature = "fuzzing")]
mod fuzzing;

pub use challenge::BearerChallenge;
pub use claims::IdTokenClaims;
pub use clock::{Clock, FakeClock, SharedClock, SystemClock};
pub use config::{
    AUTHGEAR_CAN_REAUTHENTICATE, MAX_DURATION, MAX_HTTP_TIMEOUT, MAX_LEEWAY, SUPPORTED_ALGORITHMS,
    VerifierConfig, VerifierConfigBuilder, algorithm_named,
};
pub use error::{
    ConfigError, FetchError, InitError, LogoutError, Rejection, RejectionKind, RevokeError,
    VerifyError,
};
pub use guard::{GuardError, TokenSource};
pub use issuers::{IssuerSet, TenantTemplate, Verifiers, valid_tenant};
pub use jsonwebtoken::Algorithm;
pub use logout::{BACKCHANNEL_LOGOUT_EVENT, LogoutEvent};
pub use render::{ErrorBody, ErrorRenderer, Redirect, Refused};
pub use requirement::{Freshness, ReauthPolicy, Requirement};
pub use stats::{RevocationSync, VerifierStats};
pub use token_kind::TokenKind;
pub use verifier::{ClaimsMap, Verified, Verifier};
