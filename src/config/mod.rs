//! [`VerifierConfig`] and its builder. Every field documents its default.

mod builder;
mod endpoint;
mod limits;
mod reauth_policy;
#[cfg(test)]
mod tests;
mod verifier_config;

pub use builder::{AUTHGEAR_CAN_REAUTHENTICATE, VerifierConfigBuilder};
pub(crate) use endpoint::check_url;
pub use limits::{MAX_DURATION, MAX_HTTP_TIMEOUT, MAX_LEEWAY};
pub use reauth_policy::ReauthPolicy;
pub use verifier_config::VerifierConfig;
