//! [`Verifier`]: the one pipeline every adapter calls. Check the token
//! (signature and claims, or a memo hit), then decide (revocation, scopes,
//! freshness).

mod check;
mod decide;
mod dpop;
mod dpop_settings;
mod handle;
mod revoke;
mod verified;

pub use crate::jwt::claims::ClaimsMap;
pub use dpop::DpopPresentation;
pub use handle::Verifier;
pub use verified::Verified;
